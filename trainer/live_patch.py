"""Applying live patches from ``control.json`` to a run in progress.

For: polling the :class:`~openlora.trainer.control.ControlReader` between optimizer steps (a
rejected patch becomes a ``patch_rejected`` event and changes nothing), and applying a validated
:class:`~openlora.trainer.control.ControlPatch`: a new learning rate moves the scheduler's base so
the schedule keeps it, the other live settings replace their value in the run's ``live`` dict.
Not for: parsing or validating patches (``control``), writing them (the agent), deciding when to
poll (the recipe's loop) or writing ``patch_applied`` (the recipe, which owns the step).
"""

from __future__ import annotations

from typing import Any

import torch

from openlora.trainer.config import TrainConfig
from openlora.trainer.control import ControlPatch, ControlReader, PatchRejected
from openlora.trainer.telemetry import MetricsWriter

# Settings the loop reads from ``live`` each step, so that a patch takes effect at once.
LIVE_KEYS: tuple[str, ...] = ("max_grad_norm", "eval_every", "save_every")


def live_settings(config: TrainConfig) -> dict[str, Any]:
    """The live settings as the config sets them at launch."""
    return {key: getattr(config, key) for key in LIVE_KEYS}


def poll_patch(reader: ControlReader, metrics: MetricsWriter, step: int) -> ControlPatch | None:
    """The next new patch in ``control.json``, or None; a bad one is reported and skipped."""
    try:
        return reader.poll()
    except PatchRejected as exc:
        metrics.write("patch_rejected", step=step, patch_id=exc.patch_id, reason=str(exc))
        return None


def set_learning_rate(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR, new_lr: float
) -> None:
    """Make ``new_lr`` the peak lr: the schedule's current factor applies to it from now on."""
    scheduler.base_lrs = [new_lr for _ in scheduler.base_lrs]
    factor = scheduler.lr_lambdas[0](scheduler.last_epoch)
    for group in optimizer.param_groups:
        group["initial_lr"] = new_lr
        group["lr"] = new_lr * factor


def apply_patch(
    patch: ControlPatch,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    live: dict[str, Any],
) -> dict[str, Any]:
    """Apply ``patch`` to the optimizer, schedule and ``live``; returns the changes it made."""
    changes = patch.changes()
    if "learning_rate" in changes:
        set_learning_rate(optimizer, scheduler, changes["learning_rate"])
    for key in LIVE_KEYS:
        if key in changes:
            live[key] = changes[key]
    return changes
