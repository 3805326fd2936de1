"""FastAPI dependencies: handlers get the loaded pipeline and settings through these aliases."""

from typing import Annotated

from fastapi import Depends, Request

from service.errors import NotReady
from service.pipeline import QAPipeline
from service.settings import Settings


def get_pipeline(request: Request) -> QAPipeline:
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        raise NotReady("the service is still loading its index and models; try again in a few seconds")
    return pipeline


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


PipelineDep = Annotated[QAPipeline, Depends(get_pipeline)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
