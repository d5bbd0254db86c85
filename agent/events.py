"""``agent_events.jsonl``: what the supervisor did, one JSON line each, for metrics and dashboards.

Only enums, ids and numbers are written here (tool names, diagnoses, outcomes, latencies) so the
Prometheus exporter can turn the file into bounded series; prose stays in the report.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

FILE = "agent_events.jsonl"


def record(run_root: str | Path, kind: str, **fields: Any) -> None:
    path = Path(run_root) / FILE
    line = json.dumps({"event": kind, "time": round(time.time(), 3), **fields}, default=str)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
