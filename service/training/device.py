"""Where a training run computes: these CPUs, or a CUDA GPU where torch sees one. A pass over the full SQuAD set takes
hours on two cores and minutes on a GPU; the weights, checkpoints and calibration are the same either way."""

import torch

from index.precision import bf16_supported

DEVICES = ("auto", "cpu", "cuda")
CPU = torch.device("cpu")


def training_device(name: str) -> torch.device:
    """`auto`: the GPU where torch sees one, else the CPU; `cuda` without one is an error that says what to do."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}: choose one of {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"--device cuda, but this torch ({torch.__version__}) sees no CUDA GPU: train with --device cpu (or auto),"
            " or on a machine with a GPU and a CUDA build of torch"
        )
    return torch.device(name)


def bf16_autocast(device: torch.device, wanted: bool) -> torch.autocast:
    """bfloat16 autocast where `device` runs it natively (a CPU with AMX or AVX512-BF16, a GPU from Ampere on), when
    `wanted`; elsewhere a disabled autocast, so the run is float32."""
    native = torch.cuda.is_bf16_supported(including_emulation=False) if device.type == "cuda" else bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=wanted and native)
