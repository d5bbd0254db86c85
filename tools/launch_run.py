"""``launch_run``: start the trainer subprocess for an attempt, or reattach to the one running.

This is the seam for other launchers: the trainer is ``python -m openlora.trainer RUN_DIR`` and needs
only the run folder, so torchrun, ``accelerate launch`` or a cluster job could start it instead.
A ``trainer.pid`` file (pid and process start time) makes launching idempotent: a second call while
the trainer lives, or after it finished, never starts another one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from openlora.tools.context import ToolContext, ToolError
from openlora.trainer.config import TrainConfig
from openlora.trainer.rundir import RunDir, write_json_atomic

PID_FILE = "trainer.pid"


def trainer_process(run_dir: Path) -> psutil.Process | None:
    """The live trainer of ``run_dir``, if any (pid reuse is ruled out by the start time)."""
    try:
        info = json.loads((run_dir / PID_FILE).read_text())
        proc = psutil.Process(info["pid"])
        if abs(proc.create_time() - info["create_time"]) > 1 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (FileNotFoundError, ValueError, KeyError, psutil.Error):
        return None


def launch_run(ctx: ToolContext, attempt: int, config: dict[str, Any]) -> dict[str, Any]:
    """Start training attempt ``attempt`` with ``config`` (validated), or reattach to it."""
    run_dir = ctx.attempt_dir(attempt)
    rd = RunDir(run_dir)
    live = trainer_process(run_dir)
    if live is not None:
        return {"attempt": attempt, "pid": live.pid, "reattached": True, "finished": False}
    if rd.result.exists():
        return {"attempt": attempt, "pid": None, "reattached": True, "finished": True}
    try:
        resolved = TrainConfig.model_validate(config)
    except Exception as exc:
        raise ToolError(f"launch_run: invalid training config: {exc}") from None
    run_dir.mkdir(parents=True, exist_ok=True)
    if not rd.spec.exists():
        write_json_atomic(rd.spec, resolved.model_dump())
    log = (run_dir / "trainer.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "openlora.trainer", str(run_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    log.close()
    write_json_atomic(
        run_dir / PID_FILE, {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time()}
    )
    return {"attempt": attempt, "pid": proc.pid, "reattached": False, "finished": False}
