"""One training attempt as the baselines run it: the same trainer subprocess the supervisor launches.

:func:`train_once` writes ``spec.json``, runs ``python -m openlora.trainer RUN_DIR`` and reads back
``result.json`` and ``metrics.jsonl``: status, final validation loss, the first step's loss, and the
attempt's training time from its own events (the compute that a failed attempt wastes, measured the
same way for the supervisor's attempts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlora.trainer import spawner
from openlora.trainer.config import ConfigError, parse_config
from openlora.trainer.rundir import RunDir, read_events, read_json, write_json_atomic


@dataclass
class Trial:
    status: str
    val_loss: float | None
    first_loss: float | None
    seconds: float
    message: str = ""


def first_loss(events: list[dict[str, Any]]) -> float | None:
    step = next((e for e in events if e.get("event") == "step"), None)
    return float(step["loss"]) if step and isinstance(step.get("loss"), int | float) else None


def training_seconds(events: list[dict[str, Any]]) -> float:
    """Wall time between the attempt's first and last events: the compute it spent (all strategies alike)."""
    times = [e["time"] for e in events if isinstance(e.get("time"), int | float)]
    return (max(times) - min(times)) if len(times) > 1 else 0.0


def train_once(config: dict[str, Any], run_dir: Path, timeout_s: float = 600) -> Trial:
    """Run one attempt; an invalid config is a failed trial, as it would be for a person."""
    began = time.perf_counter()
    try:
        spec = parse_config(config, "trial")
    except ConfigError as exc:
        return Trial("invalid_config", None, None, 0.0, str(exc)[:200])
    run_dir.mkdir(parents=True, exist_ok=True)
    folder = RunDir(run_dir)
    write_json_atomic(folder.spec, spec.model_dump())
    folder.trainer_log.write_text("")
    pid = spawner.spawn("openlora.trainer", [str(run_dir)], folder.trainer_log)
    if not spawner.wait(pid, timeout_s):
        spawner.kill(pid)
    if not folder.result.is_file():
        return Trial("error", None, None, time.perf_counter() - began, f"no {folder.result.name}")
    result = read_json(folder.result)
    events = read_events(folder.metrics)
    seconds = training_seconds(events)
    metrics = result.get("final_metrics") or {}
    val = metrics.get("val_loss")
    return Trial(
        result["status"],
        float(val) if isinstance(val, int | float) else None,
        first_loss(events),
        seconds,
        str(result.get("message", ""))[:200],
    )
