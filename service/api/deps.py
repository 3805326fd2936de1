"""FastAPI dependencies: handlers get the loaded pipeline, the live index and settings through these aliases."""

from typing import Annotated

from fastapi import Depends, Request, Response

from service.answering.pipeline import QAPipeline
from service.api.batching import QuestionBatcher
from service.api.errors import NotReady
from service.api.live_index import LiveIndex
from service.settings import Settings

GENERATION_HEADER = "X-Index-Generation"


def get_live_index(request: Request) -> LiveIndex:
    live = getattr(request.app.state, "live_index", None)
    if live is None:
        raise NotReady("the service is still loading its index and models; try again in a few seconds")
    return live


def get_pipeline(live: Annotated[LiveIndex, Depends(get_live_index)], response: Response) -> QAPipeline:
    """The current generation's pipeline, taken once per request; the response names its generation."""
    pipeline = live.pipeline()
    if pipeline is None:
        raise NotReady("the service is still loading its index and models; try again in a few seconds")
    if pipeline.generation:
        response.headers[GENERATION_HEADER] = pipeline.generation
    return pipeline


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_batcher(request: Request) -> QuestionBatcher:
    batcher = getattr(request.app.state, "batcher", None)
    if batcher is None:
        raise NotReady("the service is still loading its index and models; try again in a few seconds")
    return batcher


PipelineDep = Annotated[QAPipeline, Depends(get_pipeline)]
LiveIndexDep = Annotated[LiveIndex, Depends(get_live_index)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BatcherDep = Annotated[QuestionBatcher, Depends(get_batcher)]
