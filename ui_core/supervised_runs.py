"""Starting a supervised run as its own process, and telling whether a run folder's supervisor lives.

What it is for: the TUI and the web page start a goal with :func:`start_supervised_run`, which runs
``openlora-agent run GOAL.yaml --run-dir ROOT`` in a new session (its own process group), its output
in ``ROOT/supervisor.log``. Closing the tab, the browser, the TUI or the web server (even SIGKILL)
leaves it running; any front attaches later by reading ROOT. :func:`supervisor_state` says where a
run folder stands: ``running`` (its supervisor's process is alive), ``finished`` (``report.json``
written), or ``stopped`` (no live supervisor and no report: killed; ``openlora-agent run GOAL.yaml
--resume --run-dir ROOT`` continues it).
What it is not for: supervising (``openlora.agent``) or watching the run's figures (``run_watch``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from openlora.trainer.rundir import GoalDir, unique_run_dir

SupervisorState = Literal["running", "finished", "stopped"]


def agent_command() -> list[str]:
    """How to call ``openlora-agent`` from this interpreter (the console script beside it, or -c)."""
    script = Path(sys.executable).parent / "openlora-agent"
    if script.is_file():
        return [str(script)]
    found = shutil.which("openlora-agent")
    return [found] if found else [sys.executable, "-c", "from openlora.cli.main import main; main()"]


def start_supervised_run(
    goal_path: Path, runs: Path, name: str, offline: bool = False, env: dict[str, str] | None = None
) -> Path:
    """Start ``openlora-agent run`` on ``goal_path`` in a new run folder under ``runs``; return it.

    ``name`` is the goal's name (the folder is ``runs/<name>-<time>``). The process is detached: it
    outlives the caller. Its stdout and stderr go to ``supervisor.log`` in the run folder.
    """
    root = unique_run_dir(runs, name)
    desk = GoalDir(root)
    root.mkdir(parents=True)
    command = [*agent_command(), "run", str(goal_path), "--runs", str(runs), "--run-dir", str(root)]
    if offline:
        command.append("--offline")
    with desk.supervisor_log.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=Path.cwd(),
        )
    desk.supervisor_pid.write_text(f"{process.pid}\n", encoding="utf-8")
    _ZOMBIES.append(process)
    return root


# Popen objects of started supervisors: kept so that Python reaps them when they end (no zombie
# process keeps looking alive to supervisor_state while the front that started it still runs).
_ZOMBIES: list[subprocess.Popen[bytes]] = []


def supervisor_state(root: Path) -> SupervisorState:
    """``finished`` once ``report.json`` exists; ``running`` while the recorded supervisor lives."""
    desk = GoalDir(root)
    if desk.report_json.is_file():
        return "finished"
    return "running" if supervisor_alive(root) else "stopped"


def live_runs(runs: Path) -> list[Path]:
    """The run folders under ``runs`` whose supervisor is alive, oldest first (by folder name)."""
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if GoalDir(p).supervisor_pid.is_file() and supervisor_alive(p))


def supervisor_alive(root: Path) -> bool:
    """True while the process in ``supervisor.pid`` exists and is an OpenLoRA supervisor."""
    for process in _ZOMBIES:
        process.poll()  # reap the ones that ended
    try:
        pid = int(GoalDir(root).supervisor_pid.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _looks_like_supervisor(pid)


def _looks_like_supervisor(pid: int) -> bool:
    """A reused pid is not taken for the supervisor: its command line must name openlora (Linux)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        text = cmdline.read_bytes().replace(b"\0", b" ")
    except OSError:
        return True  # no /proc: trust the pid
    stat = Path(f"/proc/{pid}/stat")
    try:
        if stat.read_text().split(") ", 1)[1].startswith("Z"):
            return False  # a zombie has ended
    except (OSError, IndexError):
        pass
    return pid == os.getpid() or b"openlora" in text
