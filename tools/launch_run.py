"""``launch_run``: start the trainer subprocess for an attempt, or reattach to the one running.

This is the seam for launchers: the trainer is ``python -m openlora.trainer RUN_DIR`` (started
through the warm fork server of ``trainer.spawner`` when it can be) and needs only the run folder.
A config with ``launcher: {kind: torchrun}`` starts ``python -m openlora.trainer.ddp_launch RUN_DIR``
instead, which runs the same entry point under ``torchrun --standalone --nproc_per_node N`` (DDP).
A ``trainer.pid`` file (pid and process start time) makes launching idempotent: a second call while
the trainer lives, or after it finished, never starts another one.
"""

import json
import os
from pathlib import Path
from typing import Annotated, Any

import psutil

from openlora.tools.context import RunContext, ToolError
from openlora.tools.settings import AttemptNumber, Supervised
from openlora.trainer import spawner
from openlora.trainer.config import TrainConfig
from openlora.trainer.rundir import RunDir, read_json, write_json_atomic


def trainer_process(run_dir: Path) -> psutil.Process | None:
    """The live trainer of ``run_dir``, if any (pid reuse is ruled out by the start time)."""
    try:
        info = json.loads(RunDir(run_dir).trainer_pid.read_text())
        proc = psutil.Process(info["pid"])
        if abs(proc.create_time() - info["create_time"]) > 1 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (FileNotFoundError, ValueError, KeyError, psutil.Error):
        return None


def launch_run(
    ctx: RunContext,
    attempt: AttemptNumber,
    training_config: Annotated[dict[str, Any] | None, Supervised] = None,
) -> dict[str, Any]:
    """Start training the attempt (its planned spec.json, or ``training_config``), or reattach to it.

    Never starts a second trainer for an attempt that is running or has finished.
    """
    run_dir = ctx.attempt_dir(attempt)
    rd = RunDir(run_dir)
    live = trainer_process(run_dir)
    if live is not None:
        return {"attempt": attempt, "pid": live.pid, "reattached": True, "finished": False}
    if rd.result.exists():
        return {"attempt": attempt, "pid": None, "reattached": True, "finished": True}
    if training_config is None:
        training_config = read_json(RunDir(ctx.existing_attempt(attempt)).spec)
    try:
        resolved = TrainConfig.model_validate(training_config)
    except Exception as exc:
        raise ToolError(f"launch_run: invalid training config: {exc}") from None
    run_dir.mkdir(parents=True, exist_ok=True)
    if not rd.spec.exists():
        write_json_atomic(rd.spec, resolved.model_dump())
    env = {**os.environ, "TQDM_DISABLE": "1"}
    entry = "openlora.trainer.ddp_launch" if resolved.launcher.kind == "torchrun" else "openlora.trainer"
    pid = spawner.spawn(entry, [str(run_dir)], rd.trainer_log, env)
    write_json_atomic(rd.trainer_pid, {"pid": pid, "create_time": psutil.Process(pid).create_time()})
    return {"attempt": attempt, "pid": pid, "reattached": False, "finished": False}
