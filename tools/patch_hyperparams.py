"""``patch_hyperparams``: change lr, clipping or intervals of a running attempt through control.json."""

from __future__ import annotations

from typing import Any

from openlora.tools.context import ToolContext
from openlora.trainer.control import ControlPatch, write_patch
from openlora.trainer.rundir import RunDir


def patch_hyperparams(
    ctx: ToolContext,
    attempt: int,
    patch_id: str,
    learning_rate: float | None = None,
    max_grad_norm: float | None = None,
    eval_every: int | None = None,
    save_every: int | None = None,
) -> dict[str, Any]:
    """Write a bounded live patch; the trainer applies each patch id once and acknowledges it."""
    patch = ControlPatch(
        patch_id=patch_id,
        learning_rate=learning_rate,
        max_grad_norm=max_grad_norm,
        eval_every=eval_every,
        save_every=save_every,
    )
    write_patch(RunDir(ctx.existing_attempt(attempt)).control, patch)
    return {"attempt": attempt, "patch_id": patch_id, "changes": patch.changes()}
