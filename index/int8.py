"""int8 inference on CPU: torch's dynamic quantisation of a model's Linear layers, for the query embedder and the reader.

The weights are quantised once at load (per output channel, symmetric int8), the activations per batch as they come;
the matrix products then run in fbgemm's int8 kernels (torch's "x86" engine). torch's quantised Linear keeps its
activations to 7 bits, so that CPUs without VNNI cannot overflow their 16-bit pair sums; VNNI accumulates in 32 bits,
so where the CPU has it activations get all 8 bits, which on all-MiniLM-L6-v2 took the worst cosine to the float32
vector from 0.958 to 0.985 over the bundled articles' sentences.

The rest of the model (embeddings, layer norms, attention scores, softmax) stays float32, and so do its inputs:
bfloat16 does not combine with it (a quantised Linear refuses bfloat16 input), so int8 is a precision of its
own, not a layer on top of bf16.
"""

import re
import warnings
from functools import cache
from pathlib import Path
from typing import TypeVar

import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

Model = TypeVar("Model", bound=torch.nn.Module)

# The feed-forward output projection of each BERT layer (not the attention's `attention.output.dense`): its inputs,
# after GELU, have the outliers that int8 handles worst. Left in float32 it took all-MiniLM-L6-v2's worst cosine over
# the bundled articles' sentences from 0.985 to 0.993 (mean 0.993 to 0.9965).
FEED_FORWARD_OUTPUT = r"layer\.\d+\.output\.dense$"


@cache
def has_vnni() -> bool:
    """Whether this CPU has VNNI (AVX512-VNNI or AVX-VNNI), read from /proc/cpuinfo; False where that is unknown."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_vnni|avx_vnni)\b", flags))


class FullRangeLinear(DynamicLinear):
    """torch's dynamic int8 Linear with 8-bit activations (its own always asks fbgemm for 7): for VNNI CPUs only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        packed = self._packed_params._packed_params
        return torch.ops.quantized.linear_dynamic(x, packed, reduce_range=False).to(x.dtype)

    def _get_name(self) -> str:
        return "DynamicQuantizedLinear8"


def quantize_linear_layers(model: Model, keep_float: str | None = FEED_FORWARD_OUTPUT) -> Model:
    """`model` with its Linear layers as int8 dynamic ones, in place, except those whose name matches the regular
    expression `keep_float`."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layers = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not (keep_float and re.search(keep_float, name))
    }
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Linear layer to quantise")
    mapping = {torch.nn.Linear: FullRangeLinear if has_vnni() else DynamicLinear}
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; it is what torch 2.13 (pinned) ships and runs.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning, message=r".*quantize_per_(tensor|channel).*")
        return quantize_dynamic(model.eval(), layers, dtype=torch.qint8, mapping=mapping, inplace=True)
