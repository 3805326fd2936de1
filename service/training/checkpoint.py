"""Resumable training state, written atomically: weights, optimiser, scheduler, RNG and the data position."""

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from index.store import atomic_write

CHECKPOINT = "checkpoint.pt"
RUN = "run.json"


@dataclass(frozen=True)
class Position:
    """Where a run stands: in stage `stage` (an index into the run's stages), epoch `epoch` (from 1), with `step`
    batches of that epoch done."""

    stage: int
    epoch: int
    step: int


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
