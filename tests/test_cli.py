"""The `qa` command, run in-process with the index in a temporary folder and the fake models."""

import json
import logging
from pathlib import Path

import pytest

import service.runtime
from index.store import IndexStore
from service.cli import main
from tests.fakes import FakeAnswerer, FakeEmbedder, write_files


@pytest.fixture
def index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "index"
    monkeypatch.setenv("QA_INDEX_DIR", str(folder))
    monkeypatch.setenv("QA_EMBEDDING_MODEL", "fake")
    monkeypatch.setattr(service.runtime, "SentenceEmbedder", FakeEmbedder)
    monkeypatch.setattr(service.runtime, "load_answerer", lambda settings, warm_up=True: FakeAnswerer())
    return folder


def one_line(text: str) -> str:
    """Rich wraps long lines to the terminal width; undo that before matching."""
    return " ".join(text.split())


def test_index_build_then_list(index_dir: Path, tiny_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0

    chunks = len(IndexStore(index_dir).load().chunks)
    assert capsys.readouterr().out == f"added 3, replaced 0, unchanged 0; {chunks} chunks embedded\n"

    assert main(["-q", "index", "list"]) == 0

    listing = capsys.readouterr().out  # not a terminal: one document a line, its fields whole, tab-separated
    rows = [line.split("\t") for line in listing.splitlines()]
    assert sorted(row[:3] for row in rows) == [
        ["comet", "Comet sighting", "comet.html"],
        ["harbour", "The harbour opened in 1892. Fishing boats still land 300 tonnes of cod each…", "harbour.txt"],
        ["orchard", "Orchard notes", "orchard.md"],
    ]
    assert all(len(row) == 5 and row[3].isdigit() and row[4].isdigit() for row in rows)


def test_index_list_never_cuts_a_long_id(index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long_id = "a-report-whose-file-name-runs-on-far-past-any-terminal-width-" + "x" * 40
    folder = write_files(tmp_path / "long", {f"{long_id}.txt": "The harbour closed in 1990."})
    assert main(["-q", "index", "build", str(folder)]) == 0
    capsys.readouterr()

    assert main(["-q", "index", "list"]) == 0

    assert capsys.readouterr().out.split("\t")[0] == long_id


def test_serve_refuses_a_port_out_of_range_and_one_in_use_before_loading_anything(
    index_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setattr(service.runtime, "ensure_index", lambda *args, **kwargs: pytest.fail("loaded the index"))
    with pytest.raises(SystemExit) as exit_:
        main(["-q", "serve", "--port", "99999"])
    assert exit_.value.code == 2
    assert "a TCP port is a number from 1 to 65535, not '99999'" in capsys.readouterr().err

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["-q", "serve", "--port", str(port)]) == 2
    assert one_line(capsys.readouterr().err) == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert main(["-q", "serve", "--host", "256.1.1.1", "--port", str(port)]) == 2
    assert one_line(capsys.readouterr().err).startswith("error: cannot listen on 256.1.1.1:")


def test_index_add_reports_added_then_unchanged(
    index_dir: Path, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["-q", "index", "build", str(tiny_corpus)])
    article = write_files(tmp_path / "new", {"glacier.txt": "Glaciers retreated 12 metres last year."})
    capsys.readouterr()

    assert main(["-q", "index", "add", str(article)]) == 0
    assert capsys.readouterr().out == "added 1, replaced 0, unchanged 0; 1 chunks embedded\n"
    assert main(["-q", "index", "add", str(article), str(tiny_corpus)]) == 0
    assert capsys.readouterr().out == "added 0, replaced 0, unchanged 4; 0 chunks embedded\n"


def test_index_add_of_an_unsupported_file_exits_2_naming_it(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan = write_files(tmp_path, {"scan.pdf": b"%PDF-1.7"}) / "scan.pdf"

    assert main(["-q", "index", "add", str(scan)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert one_line(captured.err).startswith(f"error: {scan}: unsupported file type '.pdf'")
    assert not index_dir.exists()


def test_index_list_without_an_index_says_how_to_build_one(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "index", "list"]) == 2

    assert one_line(capsys.readouterr().err) == f"error: no index in {index_dir}; build one with `qa index build`"


def test_ask_refuses_a_question_that_is_not_utf8(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "ask", "Who founded \udcff Scale?"]) == 2  # how Python hands over the byte 0xff of argv

    assert one_line(capsys.readouterr().err) == "error: question: not valid UTF-8 (character 13); give it as UTF-8 text"


@pytest.mark.parametrize(("flags", "level", "access_log"), [(["-q"], "warning", False), ([], "info", True)])
def test_serve_quiet_silences_the_servers_own_lines(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], level: str, access_log: bool
) -> None:
    import uvicorn

    from eval.processes import free_port

    ran: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran.update(options))

    assert main([*flags, "serve", "--port", str(free_port())]) == 0

    assert (ran["log_level"], ran["access_log"]) == (level, access_log)


def test_ask_prints_the_response_as_json(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # No index yet: `ask` builds one from the configured corpus (the bundled articles) first.
    assert main(["-q", "ask", "--json", "--top-k", "3", "How many H100 chips does Meta have?"]) == 0

    body = json.loads(capsys.readouterr().out)
    documents = IndexStore(index_dir).load().documents
    answer = body["answer"]
    assert body["question"] == "How many H100 chips does Meta have?"
    assert len(body["passages"]) == 3
    assert documents[answer["document_id"]].text[answer["start"] : answer["end"]] == answer["text"]


def test_ask_prints_the_answer_in_its_sentence(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    question = "How many H100 chips does Meta have?"
    main(["-q", "ask", "--json", question])
    answer = json.loads(capsys.readouterr().out)["answer"]

    assert main(["-q", "ask", question]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{answer['text']}  (confidence {answer['score']:.2f})"
    assert f"{answer['document_id']} [{answer['start']}:{answer['end']}]" in one_line(out)
    context = answer["context"]
    before, after = (
        context["text"][: answer["start"] - context["start"]],
        context["text"][answer["end"] - context["start"] :],
    )
    assert one_line(f"“{before}**{answer['text']}**{after}”") in one_line(out), "piped: the span marked in Markdown"


def test_error_naming_a_long_path_keeps_the_path_on_one_line(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "quarterly-reports-from-the-finance-team" / "second-half-of-the-year-drafts"
    scan = write_files(folder, {"board-meeting-minutes-scan.pdf": b"%PDF-1.7"}) / "board-meeting-minutes-scan.pdf"

    assert main(["-q", "index", "add", str(scan)]) == 2

    # A wrapped path can't be copied or grepped; errors go to logs and scripts as much as to terminals.
    assert str(scan) in capsys.readouterr().err


def test_quiet_keeps_debug_and_info_lines_off_stderr(
    index_dir: Path, tiny_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()  # pytest's capture handlers would keep main()'s logging.basicConfig from running
    try:
        code = main(["-q", "ask", "--json", "How many H100 chips does Meta have?"])
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)

    assert code == 0
    assert capsys.readouterr().err == ""


def test_ask_with_an_empty_question_exits_2_with_one_line(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "ask", "   "]) == 2

    assert capsys.readouterr().err == (
        "error: question: the question is empty; type a question such as 'Who is the founder of Scale?'\n"
    )


def test_a_bad_setting_is_one_line_naming_its_variable(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QA_MAX_QUESTION_CHARS", "5000")

    assert main(["-q", "index", "list"]) == 2

    assert capsys.readouterr().err == "error: QA_MAX_QUESTION_CHARS: Input should be less than or equal to 1000\n"


def test_a_file_that_cannot_be_read_is_one_line_naming_it(
    index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    article = write_files(tmp_path / "new", {"locked.txt": "Words."}) / "locked.txt"

    def refuse(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "read_bytes", refuse)  # chmod is no test when the tests run as root

    assert main(["-q", "index", "add", str(article)]) == 2

    assert one_line(capsys.readouterr().err) == f"error: {article}: Permission denied"


def test_index_add_after_a_chunking_change_re_embeds_the_stored_documents_first(
    index_dir: Path,
    tiny_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0
    monkeypatch.setenv("QA_CHUNK_MAX_TOKENS", "32")
    article = write_files(tmp_path / "new", {"glacier.txt": "Glaciers retreated 12 metres last year."})

    assert main(["-q", "index", "add", str(article / "glacier.txt")]) == 0

    assert IndexStore(index_dir).load().manifest.chunking.max_tokens == 32
    assert main(["-q", "index", "list"]) == 0
    listed = capsys.readouterr().out
    assert "harbour" in listed and "glacier" in listed


def test_index_add_of_a_missing_file_after_a_chunking_change_rebuilds_nothing(
    index_dir: Path, tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0
    generation = IndexStore(index_dir).load().generation
    monkeypatch.setenv("QA_CHUNK_MAX_TOKENS", "32")

    assert main(["-q", "index", "add", str(tmp_path / "typo.txt")]) == 2

    assert IndexStore(index_dir).load().generation == generation


def test_index_build_of_a_folder_without_documents_leaves_the_index_as_it_was(
    index_dir: Path, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0
    scans = write_files(tmp_path / "scans", {"page.pdf": b"%PDF"})
    capsys.readouterr()

    assert main(["-q", "index", "build", str(scans)]) == 2

    assert one_line(capsys.readouterr().err).startswith(f"error: {scans}: no documents in this folder")
    assert main(["-q", "index", "list"]) == 0
    assert "harbour" in capsys.readouterr().out


def test_index_build_never_drops_documents_that_are_only_in_the_index_unasked(
    index_dir: Path, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A document posted over HTTP (or added from a file since gone) exists in the index alone."""
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0
    assert main(["-q", "index", "add", str(write_files(tmp_path / "new", {"glacier.txt": "Glaciers retreated."}))]) == 0
    generation = IndexStore(index_dir).load().generation
    capsys.readouterr()

    assert main(["-q", "index", "build", str(tiny_corpus)]) == 2

    assert one_line(capsys.readouterr().err) == (
        f"error: {index_dir} holds 1 document(s) that are not among these files (glacier): `qa index build --replace`"
        " drops them and builds from these files alone; `qa index add` adds the files to the index instead"
    )
    assert IndexStore(index_dir).load().generation == generation

    assert main(["-q", "index", "build", "--replace", str(tiny_corpus)]) == 0

    assert capsys.readouterr().out.startswith("added 3, replaced 0, unchanged 0, removed 1;")
    assert "glacier" not in IndexStore(index_dir).load().documents


def test_a_damaged_index_is_rebuilt_from_files_only_when_told_to_replace_it(
    index_dir: Path, tiny_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0
    manifest = index_dir / (index_dir / "CURRENT").read_text().strip() / "manifest.json"
    manifest.write_text("garbage")
    capsys.readouterr()

    assert main(["-q", "index", "build", str(tiny_corpus)]) == 2
    assert one_line(capsys.readouterr().err).endswith(
        "rebuild it from your files with `qa index build --replace PATH ...` (documents only in the index are lost)"
    )

    assert main(["-q", "index", "build", "--replace", str(tiny_corpus)]) == 0
    assert sorted(IndexStore(index_dir).load().documents) == ["comet", "harbour", "orchard"]


def test_index_add_without_an_index_builds_the_corpus_first_as_serve_and_ask_do(
    index_dir: Path, tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_CORPUS", str(tiny_corpus))

    assert main(["-q", "index", "add", str(write_files(tmp_path / "new", {"glacier.txt": "Glaciers retreated."}))]) == 0

    assert sorted(IndexStore(index_dir).load().documents) == ["comet", "glacier", "harbour", "orchard"]


def test_train_reader_help_lists_the_trainers_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train-reader", "--help"])

    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--calibrate-only" in out
    assert "--answer-removed-negatives" in out


def test_unknown_options_of_other_commands_are_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ask", "--bogus", "Who?"])

    assert exit_info.value.code == 2
    assert "--bogus" in capsys.readouterr().err


def test_index_commands_and_ask_run_on_milvus(
    index_dir: Path,
    tiny_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("pymilvus")
    uri = tmp_path / "var" / "milvus.db"
    monkeypatch.setenv("QA_STORE", "milvus")
    monkeypatch.setenv("QA_MILVUS_URI", str(uri))
    article = write_files(tmp_path / "new", {"glacier.txt": "Glaciers retreated 12 metres last year."})

    assert main(["-q", "index", "list"]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"error: no Milvus Lite database at {uri}: check QA_MILVUS_URI, or build one with `qa index build`"
    )
    assert not uri.parent.exists(), "a listing makes no folder"
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0
    assert main(["-q", "index", "add", str(article)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "added 1, replaced 0, unchanged 0; 1 chunks embedded"
    assert main(["-q", "index", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(document_id in listing for document_id in ("comet", "harbour", "orchard", "glacier")), listing
    assert main(["-q", "ask", "--json", "How far did the glaciers retreat?"]) == 0

    answer = json.loads(capsys.readouterr().out)["answer"]
    assert (answer["document_id"], answer["text"]) == ("glacier", "12")  # the fake answerer: the first number
    assert not index_dir.exists(), "the FAISS folder is not used"


def test_a_count_below_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from eval.bench import main as bench  # `qa bench` hands its arguments to eval.bench

    for run, arguments in ((main, ["eval", "--limit", "0"]), (bench, ["--top-k", "0"])):
        with pytest.raises(SystemExit) as exit_info:
            run(arguments)

        assert exit_info.value.code == 2
        assert f"{arguments[-2]}: must be 1 or more, not 0" in one_line(capsys.readouterr().err)


def test_a_count_that_is_not_a_number_is_refused_in_the_flags_own_words(capsys: pytest.CaptureFixture[str]) -> None:
    from eval.bench import main as bench

    for run, arguments in ((main, ["eval", "--limit", "abc"]), (bench, ["--questions", "abc"])):
        with pytest.raises(SystemExit) as exit_info:
            run(arguments)

        assert exit_info.value.code == 2
        err = one_line(capsys.readouterr().err)
        assert f"argument {arguments[-2]}: 'abc' is not a whole number (1 or more)" in err
        assert "invalid positive value" not in err


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"data": [{"title": "x"}]}', "not SQuAD JSON (article 1 has no 'paragraphs')"),
        ('{"data": [1]}', "not SQuAD JSON (article 1 is not an object)"),
        ("not json", "not SQuAD JSON (not JSON: Expecting value at line 1 column 1)"),
    ],
)
def test_eval_of_a_malformed_squad_file_exits_2_with_one_line_naming_it(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, what: str
) -> None:
    dataset = tmp_path / "s.json"
    dataset.write_text(text, encoding="utf-8")

    assert main(["-q", "eval", "--dataset", str(dataset)]) == 2

    assert one_line(capsys.readouterr().err) == f"error: {dataset}: {what}"


def test_an_empty_corpus_setting_builds_an_empty_index_to_add_to(
    index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QA_CORPUS", "[]")
    article = write_files(tmp_path / "new", {"glacier.txt": "Glaciers retreated 12 metres last year."})

    assert main(["-q", "index", "build"]) == 0
    assert IndexStore(index_dir).load().documents == {}
    assert main(["-q", "index", "add", str(article / "glacier.txt")]) == 0

    assert list(IndexStore(index_dir).load().documents) == ["glacier"]


def test_quiet_silences_progress_bars(
    index_dir: Path, tiny_corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tqdm import tqdm

    class Chatty(FakeEmbedder):  # as sentence-transformers' encode draws its "Batches" bar
        def encode(self, texts: list[str], progress: bool = False):  # type: ignore[no-untyped-def]
            return super().encode(list(tqdm(texts, desc="Batches", disable=not progress)), progress)

    monkeypatch.setattr(service.runtime, "SentenceEmbedder", Chatty)

    assert main(["index", "build", str(tiny_corpus)]) == 0
    assert "Batches" in capsys.readouterr().err
    assert main(["-q", "index", "build", str(tiny_corpus)]) == 0
    assert "Batches" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "message"), [("0", "argument --top-k: 0 passages: give 1-50"), ("x", "'x' is not a whole number")]
)
def test_ask_refuses_a_top_k_out_of_range_naming_the_flag(
    index_dir: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["-q", "ask", "--top-k", value, "Who is the founder of Scale?"])

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not index_dir.exists(), "refused before anything was loaded or built"


def test_a_misspelt_setting_is_warned_about_not_silently_ignored(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QA_TOPK", "2")
    with caplog.at_level(logging.WARNING):
        assert main(["-q", "ask", "--json", "How many H100 chips does Meta have?"]) == 0

    assert "QA_TOPK (did you mean QA_TOP_K?) is not a setting: ignored" in caplog.text


def test_ask_holds_a_question_to_the_configured_limit_as_the_service_does(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QA_MAX_QUESTION_CHARS", "20")

    assert main(["-q", "ask", "Who is the founder of Scale AI today?"]) == 2
    assert one_line(capsys.readouterr().err) == "error: question: the question is 37 characters; keep it to 20"
