"""Whether this CPU runs bfloat16 natively: there bfloat16 weights are the fast path for the models, elsewhere slower."""

from functools import cache


@cache
def bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 matrix products natively (AMX / AVX512-BF16); elsewhere bf16 would be slower."""
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
