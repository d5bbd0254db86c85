"""``stop_run``: ask a running attempt to stop (SIGTERM: it commits a checkpoint and ends 'killed')."""

from __future__ import annotations

from typing import Any

import psutil

from openlora.tools.context import ToolContext
from openlora.tools.launch_run import trainer_process


def stop_run(ctx: ToolContext, attempt: int, timeout_s: float = 120.0) -> dict[str, Any]:
    """Stop the trainer of ``attempt`` and wait for it; SIGKILL only if it ignores SIGTERM."""
    proc = trainer_process(ctx.existing_attempt(attempt))
    if proc is None:
        return {"attempt": attempt, "stopped": False, "reason": "not running"}
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except psutil.TimeoutExpired:
        proc.kill()
    return {"attempt": attempt, "stopped": True}
