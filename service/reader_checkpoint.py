"""Resumable training state, written atomically: weights, optimiser, scheduler, RNG and the data position."""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

CHECKPOINT = "checkpoint.pt"
RUN = "run.json"


@dataclass(frozen=True)
class Position:
    """Where a run stands: in stage `stage` (an index into the run's stages), epoch `epoch` (from 1), with `step`
    batches of that epoch done."""

    stage: int
    epoch: int
    step: int


def atomic_write(path: Path, write) -> None:
    """Call `write(file)` on a temporary file beside `path`, fsync it, then rename it over `path` and fsync the folder,
    so a process killed at any moment leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def save_checkpoint(folder: Path, position: Position, model, optimizer, scheduler, seconds: float) -> None:
    """`seconds`: training time so far, over every process of the run."""
    state = {
        "position": position.__dict__,
        "seconds": seconds,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    atomic_write(Path(folder) / CHECKPOINT, lambda file: torch.save(state, file))


def load_checkpoint(folder: Path) -> dict | None:
    """The last checkpoint's state (position as a `Position`), or None when the folder holds none."""
    path = Path(folder) / CHECKPOINT
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {**state, "position": Position(**state["position"])}


def check_run(folder: Path, run: dict, resume: bool) -> None:
    """Record what a run trains on and with which settings; on resume, refuse a checkpoint made by another run."""
    path = Path(folder) / RUN
    if resume and path.exists():
        recorded = json.loads(path.read_text(encoding="utf-8"))
        if recorded != run:
            changed = sorted(key for key in run.keys() | recorded.keys() if run.get(key) != recorded.get(key))
            raise ValueError(
                f"the checkpoint in {folder} is from a run with other settings ({', '.join(changed)}): "
                "resume with the same command, or start afresh without --resume"
            )
        return
    (Path(folder) / CHECKPOINT).unlink(missing_ok=True)
    atomic_write(path, lambda file: file.write(json.dumps(run, indent=2).encode("utf-8")))
