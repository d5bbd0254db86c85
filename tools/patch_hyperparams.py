"""``patch_hyperparams``: change lr, clipping or intervals of a running attempt through control.json."""

from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext
from openlora.tools.settings import AttemptNumber, EvalEvery, LearningRate, MaxGradNorm, SaveEvery, Supervised
from openlora.trainer.control import ControlPatch, write_patch
from openlora.trainer.rundir import RunDir

PatchId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"), Supervised]


def patch_hyperparams(
    ctx: RunContext,
    attempt: AttemptNumber,
    patch_id: PatchId,
    learning_rate: LearningRate = None,
    max_grad_norm: MaxGradNorm = None,
    eval_every: EvalEvery = None,
    save_every: SaveEvery = None,
) -> dict[str, Any]:
    """Change the learning rate, gradient clipping or intervals of the running attempt, between steps.

    The trainer applies each patch once and acknowledges it in metrics.jsonl.
    """
    patch = ControlPatch(
        patch_id=patch_id,
        learning_rate=learning_rate,
        max_grad_norm=max_grad_norm,
        eval_every=eval_every,
        save_every=save_every,
    )
    write_patch(RunDir(ctx.existing_attempt(attempt)).control, patch)
    return {"attempt": attempt, "patch_id": patch_id, "changes": patch.changes()}
