"""The optimizer and the learning-rate schedule of a run.

For: AdamW over the trainable (LoRA) parameters, the warmup + constant / linear / cosine schedule
as a ``LambdaLR``, and that schedule's multiplier as a pure function. Not for: changing the
learning rate of a live run (``live_patch``), stepping either of them (the recipe), or saving
their state (``checkpoint_state``).
"""

from __future__ import annotations

import math

import torch

from openlora.trainer.config import TrainConfig


def lr_factor(step: int, warmup: int, total: int, kind: str) -> float:
    """Multiplier of the peak lr at optimizer step ``step`` (0-based)."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    if kind == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(params: list[torch.nn.Parameter], config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with the config's peak lr, betas and weight decay."""
    return torch.optim.AdamW(
        params,
        lr=config.learning_rate,
        betas=(config.adam_beta1, config.adam_beta2),
        weight_decay=config.weight_decay,
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The config's schedule over ``total_steps`` optimizer steps."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: lr_factor(s, config.warmup_steps, total_steps, config.lr_scheduler),
    )
