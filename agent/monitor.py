"""The monitor node: poll a running attempt until it ends, patching it live on a loss spike.

Each poll reads the attempt's telemetry (the ``read_telemetry`` tool). While the trainer runs, a live
finding (``detectors.live_findings``) is decided like any other (``consult``) and, when the decision
is a live patch, written through the ``patch_hyperparams`` tool — at most ``max_live_patches`` per
attempt, never while an earlier patch waits for the trainer's acknowledgement, and never under
``approval: ask``. While it decides on a trainer that shares the CPU with the advisor (more threads
than cores between them), the trainer is asked to wait between steps (``trainer.hold``): spinning
threads of both on the same cores made a 9 s decision take 120 s. The wall-time budget stops the
trainer (it checkpoints and ends ``killed``); the time the attempt spends downloading a hub base model
is not counted while its ``download`` events keep coming (a big model on a slow link is progress, not
a spent budget; a download that stops reporting runs out the budget as anything else does). The
download's progress is echoed on the terminal, since the trainer's own bar goes to ``trainer.log``.
When the attempt ends, its :class:`AttemptRecord` is returned with its own start and end times.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from openlora.advisor.client import advisor_threads
from openlora.agent.consult import consult, situation
from openlora.agent.context import Context
from openlora.agent.detectors import live_findings
from openlora.agent.records import AttemptRecord
from openlora.agent.state import AgentState, TimelineEntry
from openlora.tools import registry
from openlora.tools.launch_run import trainer_process
from openlora.trainer import hold
from openlora.trainer.download_events import DownloadTracker
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import GoalDir, RunDir, read_events, read_json, run_start

PROGRESS_EVERY_STEPS = 25
DOWNLOAD_ECHO_PERCENT = 10  # the terminal hears of a download at each 10 % of a file
STEP_BOUNDARY_WAIT_S = 60.0  # a decision waits at most this long for the step in progress to end


class SupervisionCancelled(RuntimeError):
    """The client asked the supervisor to stop watching (the trainer itself keeps running)."""


def _patch_ids(events: list[dict[str, Any]], attempt: int) -> list[str]:
    """The supervisor's patches the trainer acknowledged in this attempt."""
    prefix = f"a{attempt}-"
    return [
        str(e.get("patch_id"))
        for e in events
        if e.get("event") == "patch_applied" and str(e.get("patch_id", "")).startswith(prefix)
    ]


def _steps_left(events: list[dict[str, Any]]) -> bool:
    """Whether the run has optimizer steps still to make (a patch after its last one changes nothing)."""
    total = run_start(events).get("total_steps")
    done = max((int(e.get("step") or 0) for e in events if e.get("event") == "step"), default=0)
    return not isinstance(total, int) or done < total


def _may_patch(state: AgentState, rd: RunDir, events: list[dict[str, Any]]) -> bool:
    if not _steps_left(events):
        return False
    goal, attempt = state["goal"], state["attempt"]
    written = str(read_json(rd.control).get("patch_id", "")) if rd.control.exists() else ""
    waiting = written.startswith(f"a{attempt}-") and written not in {e.get("patch_id") for e in events}
    applied = len(_patch_ids(events, attempt))
    return goal.approval == "auto" and not waiting and applied < goal.budget.max_live_patches


def shares_cores_with_advisor(events: list[dict[str, Any]]) -> bool:
    """Whether the run trains on the CPU with more threads than the cores the advisor leaves it."""
    start = run_start(events)
    threads = start.get("threads")
    if start.get("device") != "cpu" or not isinstance(threads, int):
        return False
    return threads + advisor_threads() > (os.cpu_count() or 1)


def _wait_for_step_boundary(rd: RunDir, hold_id: str, timeout_s: float = STEP_BOUNDARY_WAIT_S) -> None:
    """Wait until the trainer is holding (the step it was in has ended), it has exited, or ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and trainer_process(rd.root) is not None:
        if any(e.get("event") == "holding" and e.get("hold_id") == hold_id for e in read_events(rd.metrics)):
            return
        time.sleep(0.05)


@contextmanager
def _trainer_held(rd: RunDir, events: list[dict[str, Any]]) -> Iterator[None]:
    """Hold the trainer between steps while the supervisor decides, when they share the cores."""
    if not shares_cores_with_advisor(events):
        yield
        return
    hold_id = hold.request_hold(rd.hold, hold.MAX_HOLD_S, "the supervisor is deciding on a live finding")
    try:
        _wait_for_step_boundary(rd, hold_id)
        yield
    finally:
        hold.release_hold(rd.hold)


def _patch_live(
    state: AgentState, runtime: Runtime[Context], rd: RunDir, events: list[dict[str, Any]]
) -> list[TimelineEntry]:
    """Decide on the first live finding; write the patch when the decision is one."""
    ctx, attempt = runtime.context, state["attempt"]
    for finding in live_findings(events, state["config"])[:1]:
        with _trainer_held(rd, events):
            decision = consult(ctx, situation(state), finding, events)
        if not decision.live:
            return []
        patch_id = f"a{attempt}-p{len(_patch_ids(events, attempt)) + 1}"
        registry.invoke(
            decision.call.tool, ctx.tools, decision.call.args, {"attempt": attempt, "patch_id": patch_id}
        )
        ctx.recorder.action(decision.call.tool, attempt=attempt)
        ctx.recorder.event("patch", attempt=attempt)
        return [ctx.recorder.say("patch", f"{patch_id}: {decision.call.text()} ({decision.reason})")]
    return []


def _show_progress(ctx: Context, attempt: int, last: dict[str, Any], shown_at: int) -> int:
    step = int(last.get("step") or 0)
    if step - shown_at < PROGRESS_EVERY_STEPS:
        return shown_at
    loss = last.get("loss")
    shown = f"{loss:.4g}" if isinstance(loss, float) else loss
    ctx.recorder.echo(f"[monitor] attempt {attempt} step {step} loss {shown}")
    return step


def _download_seen(events: list[dict[str, Any]]) -> DownloadTracker:
    tracker = DownloadTracker()
    for event in events:
        tracker.take(event)
    return tracker


def _show_download(ctx: Context, attempt: int, download: DownloadTracker, shown: str) -> str:
    """Echo the download when a file starts, ends or passes another 10 %; returns what was shown."""
    now = download.current
    if not download.downloading or now is None:
        return shown
    if now.finished:
        mark = f"{now.file}: done"
    elif now.fraction is None:  # size unknown: once when the file starts
        mark = f"{now.file}: started"
    else:
        mark = f"{now.file}: {int(100 * now.fraction) // DOWNLOAD_ECHO_PERCENT}"
    if mark != shown:
        ctx.recorder.echo(f"[monitor] attempt {attempt} {download.text()}")
    return mark


def download_seconds(run_root: str | Path, attempts: int) -> float:
    """Seconds attempts 1 to ``attempts`` of a goal spent downloading a hub base model, from their events.

    A download's time runs from its first event to its latest, so it grows only while events keep
    coming: a download that stops reporting is not excused, and runs the budget out like a hung step.
    """
    goal = GoalDir(Path(run_root))
    return sum(_download_seen(read_events(goal.attempt(n).metrics)).seconds for n in range(1, attempts + 1))


def wall_budget_spent(deadline: float, download: DownloadTracker) -> bool:
    """Past the goal's wall-time deadline (downloads before this attempt already added), not counting
    the time this attempt has spent downloading."""
    return time.time() > deadline + download.seconds


def _died_without_result(ctx: Context, rd: RunDir, attempt: int) -> None:
    time.sleep(ctx.poll_s)  # the trainer may just have exited; re-read once before concluding
    if not rd.result.exists():
        raise RuntimeError(
            f"attempt {attempt}: the trainer died without writing result.json (see {rd.trainer_log})"
        )


def monitor(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Poll the running attempt until it ends; patch it live on a loss spike (bounded per attempt)."""
    ctx, attempt, goal = runtime.context, state["attempt"], state["goal"]
    rd = RunDir(ctx.tools.attempt_dir(attempt))
    lines: list[TimelineEntry] = []
    earlier_downloads = download_seconds(state["run_root"], attempt - 1)
    shown_at, deadline = 0, state["started_at"] + goal.budget.max_wall_minutes * 60 + earlier_downloads
    download_shown = ""
    while True:
        if ctx.cancelled():
            raise SupervisionCancelled(f"stopped watching attempt {attempt}; `run --resume` reattaches")
        telemetry = registry.invoke("read_telemetry", ctx.tools, {}, {"attempt": attempt})
        events, result = telemetry["events"], telemetry["result"]
        shown_at = _show_progress(ctx, attempt, telemetry["last"], shown_at)
        download = _download_seen(events)
        download_shown = _show_download(ctx, attempt, download, download_shown)
        if result is not None and not telemetry["running"]:
            break
        if wall_budget_spent(deadline, download):
            registry.invoke("stop_run", ctx.tools, {}, {"attempt": attempt})
            lines.append(ctx.recorder.say("monitor", "wall-time budget spent: stopped the trainer"))
            continue
        if telemetry["running"] and _may_patch(state, rd, events):
            lines += _patch_live(state, runtime, rd, events)
        if result is None and not telemetry["running"] and trainer_process(rd.root) is None:
            _died_without_result(ctx, rd, attempt)
        time.sleep(ctx.poll_s)
    return _ended(state, runtime, rd, result, events, lines)


def _ended(
    state: AgentState,
    runtime: Runtime[Context],
    rd: RunDir,
    result: RunResult,
    events: list[dict[str, Any]],
    lines: list[TimelineEntry],
) -> dict[str, Any]:
    ctx, attempt = runtime.context, state["attempt"]
    record = AttemptRecord.ended(
        attempt,
        state["config"],
        str(rd.root),
        result,
        started_at=rd.spec.stat().st_mtime,
        patches=[e for e in events if e.get("event") == "patch_applied"],
    )
    ctx.recorder.attempt(record)
    lines.append(
        ctx.recorder.say("monitor", f"attempt {attempt} ended: {result.status.value} — {result.message}")
    )
    return {"attempts": [record], "timeline": lines}
