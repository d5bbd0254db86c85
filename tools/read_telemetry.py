"""``read_telemetry``: a compact summary of an attempt's loss curve, throughput and hardware."""

import math
from typing import Any

from openlora.memory.signature import describe_curve
from openlora.tools.context import RunContext
from openlora.tools.launch_run import trainer_process
from openlora.tools.settings import AttemptNumber
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import RunDir, read_events

LAST_STEP_FIELDS = (
    "step",
    "loss",
    "lr",
    "grad_norm",
    "tokens_per_s",
    "rss_mb",
    "gpu_util_pct",
    "gpu_mem_used_mb",
    "gpu_temp_c",
    "gpu_power_w",
)


def read_telemetry(ctx: RunContext, attempt: AttemptNumber) -> dict[str, Any]:
    """The attempt's loss-curve summary, last step figures (tokens/s, memory, GPU), validation and status.

    ``result`` is the attempt's :class:`RunResult` once it ended; ``events`` is metrics.jsonl as read.
    """
    rd = RunDir(ctx.existing_attempt(attempt))
    events = read_events(rd.metrics)
    steps = [e for e in events if e.get("event") == "step"]
    last = steps[-1] if steps else {}
    losses = [e.get("loss") if e.get("loss") is not None else math.nan for e in steps]
    return {
        "attempt": attempt,
        "running": trainer_process(rd.root) is not None,
        "result": RunResult.read(rd.result) if rd.result.exists() else None,
        "steps": len(steps),
        "curve": describe_curve(losses),
        "last": {k: last[k] for k in LAST_STEP_FIELDS if k in last},
        "val_losses": [e["val_loss"] for e in events if e.get("event") == "eval"],
        "events": events,
    }
