"""The QA_ environment reaches Settings; the precision switches take only the values the code runs."""

import pytest
from pydantic import ValidationError

from index.embedding import SentenceEmbedder
from index.precision import bf16_supported
from service.runtime import READER_PRECISIONS, index_embedder, index_precision
from service.settings import Settings, unknown_settings
from tests.fakes import FakeEmbedder


@pytest.mark.parametrize("precision", ["auto", "float32", "bfloat16", "int8"])
def test_every_reader_precision_is_read_from_the_environment(precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_READER_PRECISION", precision)

    assert Settings().reader_precision == precision
    assert precision in READER_PRECISIONS


@pytest.mark.parametrize("precision", ["float32", "bfloat16", "int8"])
def test_the_embedder_precision_is_read_from_the_environment(precision: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_EMBEDDER_PRECISION", precision)

    assert Settings().embedder_precision == precision


def test_the_embedder_is_float32_unless_told() -> None:
    assert Settings().embedder_precision == "float32"


@pytest.mark.parametrize(
    ("name", "value"),
    [("QA_READER_PRECISION", "int4"), ("QA_EMBEDDER_PRECISION", "float16"), ("QA_INDEX_PRECISION", "int8")],
)
def test_an_unknown_precision_is_refused(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=name.removeprefix("QA_").lower()):
        Settings()


def test_the_index_is_built_at_its_own_precision_over_the_question_model_where_they_can_share_it() -> None:
    questions = SentenceEmbedder()  # not loaded: nothing here loads a model
    native = "bfloat16" if bf16_supported() else "float32"

    assert Settings().index_precision == "auto" and index_precision(Settings()) == native
    assert index_precision(Settings(index_precision="float32")) == "float32"
    assert index_embedder(Settings(index_precision="float32"), questions) is questions
    builder = index_embedder(Settings(index_precision="bfloat16"), questions)
    assert (builder.model_id, builder.precision) == ("all-MiniLM-L6-v2", "bfloat16")  # type: ignore[attr-defined]
    alone = index_embedder(Settings(index_precision="bfloat16"))
    assert (alone.model_id, alone.precision) == ("all-MiniLM-L6-v2", "bfloat16")  # type: ignore[attr-defined]
    fake = FakeEmbedder()
    assert index_embedder(Settings(), fake) is fake  # the tests' fake embeds everything as it is


def test_an_int8_question_embedder_never_builds_the_index() -> None:
    questions = SentenceEmbedder(precision="int8")

    builder = index_embedder(Settings(embedder_precision="int8", index_precision="float32"), questions)
    assert builder is not questions
    assert (builder.model_id, builder.precision) == ("all-MiniLM-L6-v2", "float32")  # type: ignore[attr-defined]


def test_the_no_answer_threshold_is_the_readers_own_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().no_answer_threshold is None
    monkeypatch.setenv("QA_NO_ANSWER_THRESHOLD", "0.5")

    assert Settings().no_answer_threshold == 0.5


def test_a_no_answer_threshold_that_is_not_a_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_NO_ANSWER_THRESHOLD", "strict")

    with pytest.raises(ValidationError, match="no_answer_threshold"):
        Settings()


def test_the_question_limit_can_be_lowered_but_not_raised_past_the_schemas_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QA_MAX_QUESTION_CHARS", "200")
    assert Settings().max_question_chars == 200

    monkeypatch.setenv("QA_MAX_QUESTION_CHARS", "2000")
    with pytest.raises(ValidationError, match="max_question_chars"):
        Settings()


@pytest.mark.parametrize(
    ("value", "paths"),
    [
        ("articles", ["articles"]),
        ("/data/news:more/notes.md", ["/data/news", "more/notes.md"]),
        ('["/data/news", "more"]', ["/data/news", "more"]),
        ("[]", []),
    ],
)
def test_the_corpus_is_a_path_paths_as_in_path_or_a_json_list(
    value: str, paths: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    monkeypatch.setenv("QA_CORPUS", value)

    assert Settings().corpus == [Path(path) for path in paths]


@pytest.mark.parametrize(
    ("value", "said"), [("", "no path given"), (":", "no path given"), ("[oops", "not a JSON list")]
)
def test_a_corpus_setting_that_names_nothing_is_refused_saying_why(
    value: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main

    monkeypatch.setenv("QA_CORPUS", value)

    assert main(["-q", "index", "list"]) == 2
    assert capsys.readouterr().err.startswith(f"error: QA_CORPUS: {said}")


def test_an_index_folder_that_is_empty_or_a_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("QA_INDEX_DIR", " ")
    with pytest.raises(ValidationError, match="no folder given; unset it for var/index"):
        Settings()
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "notes.txt"))
    with pytest.raises(ValidationError, match=r"notes\.txt is a file, not a folder"):
        Settings()
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / ("n" * 300)))
    with pytest.raises(ValidationError, match="File name too long"):
        Settings()
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "new"))
    assert Settings().index_dir == tmp_path / "new", "a folder yet to be made is fine"
    assert Settings(index_dir=tmp_path).index_dir == tmp_path, "a Path given in code"


def test_a_qa_variable_that_names_no_setting_is_named_with_its_likely_meaning() -> None:
    environ = {"QA_TOPK": "2", "QA_FOO": "1", "QA_TOP_K": "3", "HOME": "/root", "qa_admintoken": "x"}

    assert unknown_settings(environ) == [
        "QA_FOO",
        "QA_TOPK (did you mean QA_TOP_K?)",
        "qa_admintoken (did you mean QA_ADMIN_TOKEN?)",
    ]


@pytest.mark.parametrize(
    ("value", "token"), [("s3cret\n", "s3cret"), ("  s3cret ", "s3cret"), ("   ", None), ("", None)]
)
def test_an_admin_token_is_read_without_the_spaces_a_header_cannot_carry(
    value: str, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'s3cret\\n' (read from a file) could never match a header's value, and '   ' would switch writes on for nobody."""
    monkeypatch.setenv("QA_ADMIN_TOKEN", value)

    settings = Settings()

    assert (settings.admin_token.get_secret_value() if settings.admin_token else None) == token
    assert settings.writes_enabled is (token is not None)
