"""bench/monitor_refresh.py in small form: both runs are refreshed and the figures are printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "monitor_refresh.py"


def test_the_monitor_refresh_bench_runs_on_tiny_numbers():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--long", "2000", "--short", "10", "--rounds", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "RunWatch.refresh: 2000 steps" in done.stdout and "ratio" in done.stdout
