"""``probe_learning_rate``: a short learning-rate range test before attempt 1, and the rate it suggests.

The planned config trains for ``steps`` steps in the goal's probe folder (``GoalDir.lr_probe``) while
the learning rate rises geometrically from ``low`` to ``high`` (``python -m openlora.trainer.lr_probe``,
the LR range test of Smith 2017). The tool waits for it (at most ``timeout_s``), reads each step's
(lr, loss) and suggests the rate where the smoothed loss fell fastest before it turned up (fastai's
``lr_find`` "steep" point), no higher than a third of the rate at the lowest loss and no lower than
the first rate tried. When the loss never
fell, it suggests nothing and the caller keeps its prior. Only the probe folder is written.
"""

import itertools
import math
from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext, ToolError
from openlora.tools.probe_process import probe_config, run_probe
from openlora.tools.settings import Supervised
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import GoalDir, RunDir, read_events

SMOOTHING = 0.5  # weight of the previous smoothed loss (an exponential moving average)
TURNED_UP = 1.5  # the curve ends where the smoothed loss exceeds this multiple of its minimum
AT_MINIMUM = 3.0  # the suggestion stays at or below the lr of the lowest loss divided by this
Rate = Annotated[float, Field(gt=0.0, le=100.0, allow_inf_nan=False)]


def suggest(curve: list[tuple[float, float]]) -> float | None:
    """The lr where the smoothed loss falls fastest, before it turns up; None when it never falls."""
    smoothed: list[tuple[float, float]] = []
    for lr, loss in curve:
        if not math.isfinite(loss):
            break
        value = loss if not smoothed else SMOOTHING * smoothed[-1][1] + (1 - SMOOTHING) * loss
        if smoothed and value > TURNED_UP * min(v for _, v in smoothed):
            break
        smoothed.append((lr, value))
    drops = [(b[1] - a[1], math.sqrt(a[0] * b[0])) for a, b in itertools.pairwise(smoothed)]
    falling = [d for d in drops if d[0] < 0]
    if not falling:
        return None
    steepest = min(falling)[1]
    at_minimum = min(smoothed, key=lambda point: point[1])[0]
    return max(smoothed[0][0], min(steepest, at_minimum / AT_MINIMUM))


def probe_learning_rate(
    ctx: RunContext,
    low: Rate,
    high: Rate,
    steps: Annotated[int, Field(ge=4, le=64)],
    training_config: Annotated[dict[str, Any], Supervised],
    timeout_s: Annotated[float, Field(gt=0, le=3600), Supervised] = 600.0,
) -> dict[str, Any]:
    """Run a short learning-rate range test on the planned config and suggest a learning rate."""
    if not low < high:
        raise ToolError(f"probe_learning_rate: low {low:g} must be below high {high:g}")
    spec = dict(training_config) | {
        "learning_rate": high,
        "max_steps": steps,
        "warmup_steps": 0,
        "lr_scheduler": "constant",
        "eval_every": 1_000_000,
        "save_every": 1_000_000,
        "log_every": 1,
        "diverge_patience": 2,
        "outputs": ["adapter"],
    }
    config = probe_config(spec, "probe_learning_rate")
    rd = GoalDir(ctx.run_root).lr_probe
    if rd.result.exists():
        return _read(rd, low, high, 0.0)  # a resumed goal reads the probe it already ran
    module = "openlora.trainer.lr_probe"
    seconds = run_probe("probe_learning_rate", rd, config, module, repr(low), timeout_s=timeout_s)
    return _read(rd, low, high, seconds)


def _read(rd: RunDir, low: float, high: float, seconds: float) -> dict[str, Any]:
    result = RunResult.read(rd.result) if rd.result.exists() else None
    curve = [
        (float(e["lr"]), float(e["loss"]) if e.get("loss") is not None else math.nan)
        for e in read_events(rd.metrics)
        if e.get("event") == "step" and isinstance(e.get("lr"), int | float)
    ]
    return {
        "low": low,
        "high": high,
        "curve": [[lr, loss] for lr, loss in curve],
        "suggested_lr": suggest(curve),
        "status": result.status.value if result else "error",
        "message": result.message[:300] if result else "the probe wrote no result",
        "seconds": round(seconds, 1),
    }
