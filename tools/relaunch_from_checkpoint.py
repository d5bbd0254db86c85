"""``relaunch_from_checkpoint``: a new attempt with patched settings, starting from a good checkpoint.

A checkpoint is *good* when its step's loss was within 10 % of the attempt's best loss and came
before the loss went bad; otherwise the new attempt starts from scratch. The checkpoint is copied
into the new attempt, whose trainer adopts the new learning rate and clipping on resume.
"""

from __future__ import annotations

import math
import shutil
from typing import Any

from openlora.tools.context import ToolContext, ToolError
from openlora.tools.launch_run import launch_run
from openlora.trainer import checkpoints
from openlora.trainer.config import TrainConfig
from openlora.trainer.rundir import RunDir, loss_trace, read_json

GOOD_LOSS_MARGIN = 1.10


def good_checkpoint(ctx: ToolContext, attempt: int) -> checkpoints.Checkpoint | None:
    rd = RunDir(ctx.existing_attempt(attempt))
    trace = loss_trace(rd.metrics)
    finite = {s: v for s, v in trace.items() if math.isfinite(v)}
    if not finite:
        return None
    best = min(finite.values())
    for checkpoint in reversed(checkpoints.list_checkpoints(rd.checkpoints)):
        loss = finite.get(checkpoint.step)
        if (
            loss is not None
            and loss <= best * GOOD_LOSS_MARGIN
            and checkpoints.verify_checkpoint(checkpoint.path) is None
        ):
            return checkpoint
    return None


def relaunch_from_checkpoint(
    ctx: ToolContext, from_attempt: int, changes: dict[str, Any], use_checkpoint: bool = True
) -> dict[str, Any]:
    """Start attempt ``from_attempt + 1`` with ``changes`` applied (validated) to the previous config."""
    previous = read_json(RunDir(ctx.existing_attempt(from_attempt)).spec)
    try:
        config = TrainConfig.model_validate({**previous, **changes}).model_dump()
    except Exception as exc:
        raise ToolError(f"relaunch_from_checkpoint: {exc}") from None
    new_dir = ctx.attempt_dir(from_attempt + 1)
    source = good_checkpoint(ctx, from_attempt) if use_checkpoint else None
    if source is not None and not (new_dir / "checkpoints" / source.path.name).exists():
        target = new_dir / "checkpoints" / source.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source.path, target.with_name(f".copy-{source.path.name}"), dirs_exist_ok=True)
        target.with_name(f".copy-{source.path.name}").rename(target)
    launched = launch_run(ctx, from_attempt + 1, config)
    return launched | {"from_checkpoint": str(source.path) if source else None, "changes": changes}
