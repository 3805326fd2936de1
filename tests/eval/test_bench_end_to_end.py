"""`qa bench --quick` end to end: both pipelines in process, a real server under load, the
JSON and the plot. Needs the bench extra (Haystack, matplotlib); the real embedding and reader models load."""

import json
from pathlib import Path

import pytest

pytest.importorskip("haystack", reason="the bench extra is not installed")
pytest.importorskip("matplotlib", reason="the bench extra is not installed")

from eval.bench import main


@pytest.mark.model
def test_quick_bench_measures_both_pipelines_and_the_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench.json"

    small = ["--questions", "4", "--requests", "4", "--concurrency", "1,2", "--skip", "scale,coldstart,quality"]

    code = main(["--quick", "--precision", "float32", *small, "--output", str(output)])

    assert code == 0
    run = json.loads(output.read_text())
    (config,) = run["configs"]
    assert config["label"] == "reader/float32"
    assert config["in_process"]["count"] == config["haystack"]["count"] == 4
    assert config["in_process"]["p50_ms"] > 0 and config["haystack"]["p50_ms"] > 0
    assert [(level["concurrency"], level["requests"], level["errors"]) for level in config["http"]] == [
        (1, 4, 0),
        (2, 4, 0),
    ]
    assert run["builds"]["bundled"]["chunks"] == run["builds"]["haystack_bundled"]["chunks"] > 0
    assert output.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert "Haystack p50 ÷ ours, in process" in " ".join(capsys.readouterr().out.split())
