"""Where a run computes, in which precision, and from which random seed.

For: choosing CPU or CUDA from the config (an explicit ``cuda`` without a GPU is an error), the
autocast dtype for mixed precision (bf16 where the GPU supports it, else fp16; none on CPU or for
fp32), the autocast context and the fp16 gradient scaler, and seeding Python and torch RNGs.
Not for: loading the model onto the device (``models``) or moving batches (the recipe).
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

import torch

from openlora.trainer.config import TrainConfig


def pick_device(config: TrainConfig, cuda_index: int | None = None) -> torch.device:
    """CUDA when asked for (or ``auto`` with a GPU present), else CPU; ``cuda_index`` picks the GPU
    (a DDP rank's local rank)."""
    use_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    if config.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was asked for but torch sees no CUDA device")
    if use_cuda and cuda_index is not None:
        return torch.device("cuda", cuda_index)
    return torch.device("cuda" if use_cuda else "cpu")


def autocast_dtype(use_cuda: bool, precision: str) -> torch.dtype | None:
    """The mixed-precision dtype, or None to compute in fp32."""
    if not use_cuda or precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def autocast(dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    """CUDA autocast in ``dtype``; a no-op context when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=dtype)


def grad_scaler(dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    """A loss scaler for fp16 (bf16 and fp32 need none)."""
    return torch.amp.GradScaler("cuda") if dtype == torch.float16 else None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
