"""``read_telemetry``: a compact summary of an attempt's loss curve, throughput and hardware."""

from __future__ import annotations

import math
from typing import Any

from openlora.memory.signature import describe_curve
from openlora.tools.context import ToolContext
from openlora.tools.launch_run import trainer_process
from openlora.trainer.rundir import RunDir, read_events, read_json


def read_telemetry(ctx: ToolContext, attempt: int) -> dict[str, Any]:
    """Loss curve summary, last step figures (tokens/s, RSS, GPU), validation, and status."""
    rd = RunDir(ctx.existing_attempt(attempt))
    events = read_events(rd.metrics)
    steps = [e for e in events if e.get("event") == "step"]
    last = steps[-1] if steps else {}
    losses = [e.get("loss") if e.get("loss") is not None else math.nan for e in steps]
    return {
        "attempt": attempt,
        "running": trainer_process(rd.root) is not None,
        "result": read_json(rd.result) if rd.result.exists() else None,
        "steps": len(steps),
        "curve": describe_curve(losses),
        "last": {
            k: last.get(k)
            for k in (
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
            if k in last
        },
        "val_losses": [e["val_loss"] for e in events if e.get("event") == "eval"],
        "events": events,
    }
