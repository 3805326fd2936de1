"""The benchmark's pure pieces: percentiles, alternating timing, the load generator, configurations, the report."""

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from eval.bench import main
from eval.bench_load import run_load
from eval.bench_plan import Config, configurations
from eval.bench_report import headline_rows, markdown, plot_load, read_json, write_json
from eval.bench_stats import ratio, summarize, time_alternating


def test_summarize_gives_percentiles_mean_and_max() -> None:
    summary = summarize([float(ms) for ms in range(101)])  # 0..100: the q-th percentile is q

    assert summary.to_json() == {
        "count": 101,
        "p50_ms": 50.0,
        "p95_ms": 95.0,
        "p99_ms": 99.0,
        "mean_ms": 50.0,
        "max_ms": 100.0,
    }


def test_summarize_of_nothing_is_all_none() -> None:
    assert summarize([]).to_json() == {
        "count": 0,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "mean_ms": None,
        "max_ms": None,
    }


def test_ratio_is_none_when_a_side_is_missing_or_zero() -> None:
    assert ratio(150.0, 50.0) == 3.0
    assert ratio(None, 50.0) is None
    assert ratio(150.0, None) is None
    assert ratio(150.0, 0.0) is None


def test_time_alternating_warms_up_then_flips_the_order_on_every_question() -> None:
    calls: list[tuple[str, str]] = []
    callers = {name: (lambda q, name=name: calls.append((name, q))) for name in ("ours", "theirs")}

    timings = time_alternating(["a", "b", "c"], callers, warmup=1)

    assert calls == [
        ("ours", "a"),
        ("theirs", "a"),  # warm-up, not timed
        ("ours", "a"),
        ("theirs", "a"),
        ("theirs", "b"),
        ("ours", "b"),
        ("ours", "c"),
        ("theirs", "c"),
    ]
    assert [len(timings["ours"]), len(timings["theirs"])] == [3, 3]


def test_time_alternating_times_each_caller_on_its_own() -> None:
    import time

    timings = time_alternating(["a", "b"], {"slow": lambda q: time.sleep(0.02), "fast": lambda q: None}, warmup=0)

    assert min(timings["slow"]) >= 20
    assert max(timings["fast"]) < 20


def _slow_app(delay_s: float) -> FastAPI:
    """Answers /ask after `delay_s` (without blocking the loop); a question 'fail' is a 500."""
    app = FastAPI()

    @app.post("/ask")
    async def ask(body: dict) -> JSONResponse:
        await asyncio.sleep(delay_s)
        if body["question"] == "fail":
            return JSONResponse({"detail": "boom"}, status_code=500)
        return JSONResponse({"answer": None})

    return app


def test_run_load_sends_exactly_the_requests_asked_for_and_counts_errors() -> None:
    bodies = [{"question": "one"}, {"question": "two"}, {"question": "fail"}]

    result = run_load("http://bench", bodies, 3, 9, transport=httpx.ASGITransport(_slow_app(0.0)))

    figures = result.to_json()
    assert (figures["requests"], figures["errors"], figures["count"]) == (9, 3, 6)
    assert figures["first_error"] == 'HTTP 500: {"detail":"boom"}'
    assert figures["requests_per_s"] == round(6 / result.wall_s, 2)  # successes only


def test_run_load_keeps_that_many_requests_in_flight() -> None:
    # 16 requests of 50 ms: one after another they take 0.8 s; 8 at a time, two waves of 50 ms.
    result = run_load("http://bench", [{"question": "q"}], 8, 16, transport=httpx.ASGITransport(_slow_app(0.05)))

    assert result.requests == 16
    assert result.errors == 0
    assert result.wall_s < 0.5, result.wall_s
    assert min(result.latencies_ms) >= 50


def test_run_load_stops_at_its_deadline() -> None:
    result = run_load(
        "http://bench", [{"question": "q"}], 2, 10_000, deadline_s=0.2, transport=httpx.ASGITransport(_slow_app(0.05))
    )

    assert 2 <= result.requests <= 12
    assert result.wall_s < 1.0


def test_run_load_refuses_an_empty_plan() -> None:
    with pytest.raises(ValueError, match="concurrency >= 1"):
        run_load("http://bench", [{"question": "q"}], 0, 10)
    with pytest.raises(ValueError, match="at least one body"):
        run_load("http://bench", [], 1, 10)


def test_configurations_measure_each_precision_once_and_keep_the_order() -> None:
    configs = configurations(["float32", "bfloat16", "float32"], None)

    assert [c.label for c in configs] == ["reader/float32", "reader/bfloat16"]


def test_configurations_pair_each_reader_precision_with_each_embedder_precision() -> None:
    configs = configurations(["float32", "int8"], None, ["float32", "int8"])

    assert [c.label for c in configs] == [
        "reader/float32",
        "reader/float32/embedder-int8",
        "reader/int8",
        "reader/int8/embedder-int8",
    ]


def test_a_configuration_gives_subprocesses_the_same_settings(tmp_path: Path) -> None:
    config = Config("int8", top_k=3, embedder_precision="int8")

    assert config.label == "reader/int8/embedder-int8/top3"
    assert config.env(tmp_path) == {
        "QA_READER_PRECISION": "int8",
        "QA_EMBEDDER_PRECISION": "int8",
        "QA_INDEX_DIR": str(tmp_path),
        "QA_TOP_K": "3",
    }
    settings = config.settings(tmp_path)
    assert (settings.reader_precision, settings.embedder_precision, settings.top_k) == ("int8", "int8", 3)


def _run(label: str, ours_ms: float, rps_at_16: float, f1_delta: float | None = None) -> dict:
    """A `qa bench` result as written to JSON, cut down to what the headline reads."""
    load = [
        {
            "concurrency": c,
            "requests": 40,
            "requests_per_s": rps,
            "p50_ms": 30.0,
            "p95_ms": 50.0,
            "p99_ms": 500.0,
            "errors": 0,
        }
        for c, rps in ((1, 30.0), (16, rps_at_16))
    ]
    quality = {"f1": 52.5} | ({"f1_vs_float32": f1_delta} if f1_delta is not None else {})
    config = {"label": label, "answerer": "reader", "precision": "auto", "top_k": 5}
    config |= {"in_process": {"p50_ms": ours_ms, "p95_ms": 2 * ours_ms}, "haystack": {"p50_ms": 150.0}}
    config |= {"http": load, "quality": quality}
    return {"meta": {"started": "now", "cpus": 2}, "builds": {"bundled": {"chunks_per_s": 120.0}}, "configs": [config]}


def test_headline_rows_mark_figures_against_the_issue_targets() -> None:
    columns, rows = headline_rows([("", _run("reader/auto", 50.0, 45.0, f1_delta=-0.7))])

    assert columns == ["reader/auto"]
    by_label = {row[0]: row[1:] for row in rows}
    assert by_label["Haystack p50 ÷ ours, in process"] == ["3 ✓", "≥ 3"]
    assert by_label["HTTP: /ask p50 ms, 1 client"] == ["30 ✓", "≤ 40"]
    assert by_label["HTTP: requests/s, 16 clients"] == ["45 ✓", "≥ 40"]
    assert by_label["F1 − float32 reader's"] == ["-0.7 ✗", "≥ -0.5"]
    assert "cold start s, `qa ask` (median)" not in by_label  # not measured in this run: no empty row


def test_headline_rows_put_several_runs_side_by_side() -> None:
    columns, rows = headline_rows(
        [("before", _run("reader/auto", 75.0, 12.7)), ("after", _run("reader/auto", 30.0, 41.0))]
    )

    assert columns == ["before: reader/auto", "after: reader/auto"]
    assert dict((row[0], row[1:]) for row in rows)["HTTP: requests/s, 16 clients"] == ["12.7 ✗", "41 ✓", "≥ 40"]


def test_markdown_is_a_table_with_a_header_row_per_figure() -> None:
    lines = markdown([("", _run("reader/auto", 50.0, 45.0))]).splitlines()

    assert lines[0] == "| figure | reader/auto | target |"
    assert lines[1] == "|---|---|---|"
    assert "| in process: /ask p50 ms | 50 |  |" in lines


def test_results_round_trip_through_json(tmp_path: Path) -> None:
    run = _run("reader/auto", 50.0, 45.0)

    write_json(run, tmp_path / "deep" / "bench.json")

    assert read_json(tmp_path / "deep" / "bench.json") == run


def test_read_json_refuses_other_json(tmp_path: Path) -> None:
    (tmp_path / "eval.json").write_text(json.dumps({"f1": 50}))

    with pytest.raises(ValueError, match="not a `qa bench` result"):
        read_json(tmp_path / "eval.json")


def test_read_json_names_a_file_that_is_not_json_or_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("before: 75 ms", encoding="utf-8")
    (tmp_path / "latin1.json").write_bytes(b"{\xff}")

    with pytest.raises(ValueError, match=r"notes\.json: not a `qa bench` result \(not JSON: Expecting value at line 1"):
        read_json(tmp_path / "notes.json")
    with pytest.raises(
        ValueError, match=r"latin1\.json: not a `qa bench` result \(byte 0xff at offset 1 is not UTF-8\)"
    ):
        read_json(tmp_path / "latin1.json")


def test_plot_load_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")

    assert plot_load(_run("reader/auto", 50.0, 45.0), tmp_path / "bench.png")

    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")


def test_qa_bench_compare_prints_earlier_runs_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main as qa

    write_json(_run("reader/auto", 75.0, 12.7), tmp_path / "before.json")
    write_json(_run("reader/auto", 30.0, 41.0), tmp_path / "after.json")

    assert qa(["bench", "--compare", str(tmp_path / "before.json"), str(tmp_path / "after.json"), "--markdown"]) == 0

    out = capsys.readouterr().out
    assert "| HTTP: requests/s, 16 clients | 12.7 ✗ | 41 ✓ | ≥ 40 |" in out


@pytest.mark.parametrize(
    ("option", "value"),
    [("--concurrency", "0,4"), ("--concurrency", "many"), ("--skip", "everything"), ("--requests", "0")],
)
def test_bad_options_are_usage_errors(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([option, value])

    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err


NOTHING_MEASURED = ["--skip", "inprocess,haystack,http,scale,coldstart,quality"]


def test_an_output_that_is_a_folder_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import eval.bench
    from service.cli import main as qa

    runs = []

    def run_bench(*args: object) -> dict:
        runs.append(args)
        return _run("reader/auto", 50.0, 45.0)

    monkeypatch.setattr(eval.bench, "run_bench", run_bench)

    assert qa(["-q", "bench", "--output", str(tmp_path), *NOTHING_MEASURED]) == 2

    assert f"{tmp_path}: a folder; give --output a file name, e.g. {tmp_path / 'bench.json'}" in " ".join(
        capsys.readouterr().err.split()
    )
    assert runs == []


def test_the_figures_are_printed_before_a_write_that_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import eval.bench
    from eval import bench_report
    from service.cli import main as qa

    def full_disk(run: dict, path: Path) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(eval.bench, "run_bench", lambda *args: _run("reader/auto", 50.0, 45.0))
    monkeypatch.setattr(bench_report, "write_json", full_disk)

    assert qa(["-q", "bench", "--output", str(tmp_path / "bench.json"), *NOTHING_MEASURED]) == 2

    captured = capsys.readouterr()
    assert "in process: /ask p50 ms" in captured.out
    assert f"{tmp_path / 'bench.json'}: No space left on device" in " ".join(captured.err.split())


def test_f1_is_compared_with_the_float32_reader_where_measured() -> None:
    from eval.bench import _compare_to_float32

    configs = [
        {"answerer": "reader", "precision": "int8", "embedder_precision": "float32", "quality": {"f1": 51.0}},
        {"answerer": "reader", "precision": "float32", "embedder_precision": "int8", "quality": {"f1": 52.5}},
        {"answerer": "reader", "precision": "float32", "embedder_precision": "float32", "quality": {"f1": 52.0}},
        {"answerer": "reader", "precision": "bfloat16", "quality": {"f1": 51.25}},
        {"answerer": "reader", "precision": "auto"},  # quality not measured (--skip quality)
    ]

    _compare_to_float32(configs)

    # The baseline is float32 throughout, wherever it stands in the run.
    assert [c.get("quality", {}).get("f1_vs_float32") for c in configs] == [-1.0, 0.5, None, -0.75, None]


def test_without_the_bench_extra_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)

    assert main(["--quick"]) == 2

    assert "pip install -e '.[bench]'" in " ".join(capsys.readouterr().err.split())
