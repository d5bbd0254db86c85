"""``stop_run``: stop an attempt (SIGTERM: it commits a checkpoint and ends 'killed'); no relaunch follows."""

from typing import Any

import psutil

from openlora.tools.context import RunContext
from openlora.tools.launch_run import trainer_process
from openlora.tools.settings import AttemptNumber

STOP_TIMEOUT_S = 120.0


def stop_run(ctx: RunContext, attempt: AttemptNumber) -> dict[str, Any]:
    """Stop the attempt and end the goal without another attempt: no setting can fix what was found.

    A trainer still running is asked to stop (it checkpoints first) and killed only if it ignores that.
    """
    proc = trainer_process(ctx.existing_attempt(attempt))
    if proc is None:
        return {"attempt": attempt, "stopped": False, "reason": "not running"}
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except psutil.TimeoutExpired:
        proc.kill()
    return {"attempt": attempt, "stopped": True}
