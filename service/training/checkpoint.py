"""Resumable training state, written atomically: weights, optimiser, scheduler, RNG and the data position."""

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from index.durable import atomic_write

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
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # dropout on a GPU draws from the GPU's generator
        state["cuda_rng"] = torch.cuda.get_rng_state()
    atomic_write(Path(folder) / CHECKPOINT, lambda file: torch.save(state, file))


def load_checkpoint(folder: Path) -> dict | None:
    """The last checkpoint's state (position as a `Position`), or None when the folder holds none."""
    path = Path(folder) / CHECKPOINT
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {**state, "position": Position(**state["position"])}


def check_resumable(folder: Path) -> None:
    """Refuse to resume from a folder without a checkpoint: the run would start again from step 0, and a mistyped
    --checkpoints would lose hours of training without a word."""
    folder = Path(folder)
    if (folder / CHECKPOINT).exists():
        return
    if (folder / RUN).exists():  # the run began here, but stopped before its first checkpoint or lost it
        raise FileNotFoundError(
            f"--resume: the run in {folder} has no checkpoint (stopped before its first, or lost): start it again"
            " without --resume, or add --warm-start DIR to continue from a reader exported from it"
        )
    raise FileNotFoundError(
        f"--resume: no checkpoint in {folder} (a run writes one there every ~10 minutes); check --checkpoints, or"
        " start the run without --resume"
    )


# Options added after runs were started, with the value that reproduces what those runs did (the option's `qa
# train-reader` flag that gives it): a run recorded without the option resumes when given that value.
PRE_OPTION_VALUES: dict[str, tuple[object, str]] = {
    "relocate_first_occurrences": (False, "--no-relocate-first-occurrences"),
}


def check_run(folder: Path, run: dict, resume: bool) -> None:
    """Record what a run trains on and with which settings; on resume, refuse a checkpoint made by another run."""
    path = Path(folder) / RUN
    if resume and path.exists():
        recorded = json.loads(path.read_text(encoding="utf-8"))
        predating = [key for key in PRE_OPTION_VALUES if key not in recorded.get("config", {})]
        recorded["config"] = {key: PRE_OPTION_VALUES[key][0] for key in predating} | recorded.get("config", {})
        if recorded != run:
            raise ValueError(
                f"the checkpoint in {folder} is from a run with other settings ({', '.join(_changes(run, recorded))}):"
                f" resume with the same command{_hint(run, predating)}, or start afresh without --resume"
            )
        return
    (Path(folder) / CHECKPOINT).unlink(missing_ok=True)
    atomic_write(path, lambda file: file.write(json.dumps(run, indent=2).encode("utf-8")))


def _changes(run: dict, recorded: dict) -> list[str]:
    """What differs between two runs, config options by name."""
    ours, theirs = run.get("config", {}), recorded.get("config", {})
    options = [f"config.{key}" for key in sorted(ours.keys() | theirs.keys()) if ours.get(key) != theirs.get(key)]
    others = [
        key for key in sorted(run.keys() | recorded.keys()) if key != "config" and run.get(key) != recorded.get(key)
    ]
    return others + options


def _hint(run: dict, predating: list[str]) -> str:
    """The flags that give a run started before an option existed what it did then."""
    flags = [
        PRE_OPTION_VALUES[key][1] for key in predating if run.get("config", {}).get(key) != PRE_OPTION_VALUES[key][0]
    ]
    return f" plus {' '.join(flags)} (the run predates that option)" if flags else ""
