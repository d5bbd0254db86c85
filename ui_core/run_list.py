"""The runs under a runs folder, newest first, with where each stands: for a front's run picker.

What it is for: the web page's Monitor, Playground and Exports tabs list the supervised runs
(``runs/<goal>-<time>/`` with attempts, ``agent_events.jsonl`` or a supervisor's files) and the plain
``openlora-agent train`` runs (a ``spec.json``) under ``--runs``; the folders a front keeps there
itself (uploads, drafts, derived data) are not runs. :func:`trained_attempts` lists the attempts of a
run that hold a trained adapter (what the playground chats with and exports start from).
What it is not for: watching one run (``run_watch``) or starting one (``supervised_runs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openlora.trainer.rundir import GoalDir, RunDir, attempt_numbers
from openlora.ui_core.supervised_runs import supervisor_state

NOT_RUNS = {"uploads", "drafts", "data"}


@dataclass(frozen=True)
class RunEntry:
    """One run folder and its state: running, finished or stopped (a plain run: trained or not)."""

    root: Path
    state: str
    supervised: bool

    @property
    def label(self) -> str:
        return f"{self.root.name} · {self.state}"


def run_entry(root: Path) -> RunEntry | None:
    """The entry for ``root``, or None when it is no run folder."""
    desk = GoalDir(root)
    marks = (desk.agent_events, desk.supervisor_pid, desk.supervisor_log, desk.report_json)
    if any(p.exists() for p in marks) or attempt_numbers(root):
        return RunEntry(root, supervisor_state(root), True)
    if RunDir(root).is_run():
        return RunEntry(root, "finished" if RunDir(root).result.is_file() else "not finished", False)
    return None


def list_runs(runs: Path) -> list[RunEntry]:
    """Every run folder under ``runs``, the newest (by modification time) first."""
    if not runs.is_dir():
        return []
    folders = [
        p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in NOT_RUNS
    ]
    entries = [e for e in (run_entry(p) for p in folders) if e is not None]
    return sorted(entries, key=lambda e: (-e.root.stat().st_mtime, e.root.name))


def attempt_dirs(root: Path) -> list[Path]:
    """The run folders of a run's attempts (the folder itself for a plain run), in order."""
    if RunDir(root).is_run():
        return [root]
    return [GoalDir(root).attempt(n).root for n in attempt_numbers(root)]


def trained_attempts(root: Path) -> list[Path]:
    """The attempts of ``root`` holding a trained adapter (exported, or a checkpoint's), newest first."""
    from openlora.trainer.checkpoints import list_checkpoints

    found = []
    for folder in attempt_dirs(root):
        run = RunDir(folder)
        if (run.adapter / "adapter_model.safetensors").is_file() or list_checkpoints(run.checkpoints):
            found.append(folder)
    return found[::-1]
