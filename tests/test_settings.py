"""The QA_ environment reaches Settings; the precision switches take only the values the code runs."""

import pytest
from pydantic import ValidationError

from service.runtime import READER_PRECISIONS, index_embedder
from service.settings import Settings
from tests.fakes import FakeEmbedder


@pytest.mark.parametrize("precision", ["auto", "float32", "bfloat16", "int8"])
def test_every_reader_precision_is_read_from_the_environment(precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_READER_PRECISION", precision)

    assert Settings().reader_precision == precision
    assert precision in READER_PRECISIONS


@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_the_embedder_precision_is_read_from_the_environment(precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_EMBEDDER_PRECISION", precision)

    assert Settings().embedder_precision == precision


def test_the_embedder_is_float32_unless_told() -> None:
    assert Settings().embedder_precision == "float32"


@pytest.mark.parametrize(("name", "value"), [("QA_READER_PRECISION", "int4"), ("QA_EMBEDDER_PRECISION", "bfloat16")])
def test_an_unknown_precision_is_refused(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name.removeprefix("QA_").lower()):
        Settings()


def test_an_int8_question_embedder_never_builds_the_index() -> None:
    questions = FakeEmbedder()

    assert index_embedder(Settings(), questions) is questions
    builder = index_embedder(Settings(embedder_precision="int8"), questions)
    assert builder is not questions
    assert (builder.model_id, builder.precision) == ("all-MiniLM-L6-v2", "float32")  # type: ignore[attr-defined]
