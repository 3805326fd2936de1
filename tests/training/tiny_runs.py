"""What the training tests' tiny runs share: the fixture, a config of a few steps, and a process that dies.

Imports training alone (no FAISS, settings or packaged MiniLM), so the GPU tests can use it on a bare machine."""

from pathlib import Path

from service.training.train import TrainConfig

SQUAD_TINY = Path(__file__).parents[1] / "fixtures" / "squad_tiny.json"


def tiny_run_config(base_model: str, **changes) -> TrainConfig:
    """Two stages over the tiny SQuAD fixture in a few steps, with a checkpoint after every step."""
    settings = dict(
        base_model=base_model,
        epochs=2,
        abstain_answerable=6,
        batch_size=4,
        max_length=96,
        stride=32,
        checkpoint_seconds=0,
    )
    return TrainConfig(**{**settings, **changes})


def killed_after(save, checkpoints: int):
    """`save`, in a process that dies right after writing its n-th checkpoint."""
    saved = 0

    def save_then_die(*args) -> None:
        nonlocal saved
        save(*args)
        saved += 1
        if saved == checkpoints:
            raise KeyboardInterrupt

    return save_then_die
