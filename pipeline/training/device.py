"""Where training runs: the device and its precision (one process; CUDA when present)."""
from __future__ import annotations

from contextlib import nullcontext

import torch


def setup(device_param: str) -> str:
    """cuda where asked for (`auto` or `cuda`) and present, else cpu."""
    if torch.cuda.is_available() and device_param in ("auto", "cuda"):
        return "cuda"
    return "cpu"


def autocast(device: str, precision: str):
    """Mixed precision on CUDA when asked for; full precision on CPU."""
    if device.startswith("cuda") and precision in ("bf16", "fp16"):
        return torch.autocast("cuda", dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return nullcontext()
