"""Following one run folder from any front: curves per attempt, the timeline, approvals, the state.

What it is for: the TUI's live view and the web page's monitor. :meth:`RunWatch.refresh` reads only
what each file gained since the previous refresh (``tail``): the supervisor's ``agent_events.jsonl``
and ``supervisor.log``, and every attempt's ``metrics.jsonl`` (new attempts are picked up as they
appear). It keeps the figures a monitor plots (loss, val-loss, lr, tokens/s, memory, GPU figures when
present) per attempt, and reports the proposal waiting for approval and the supervisor's state. A
plain ``openlora-agent train`` run folder (its own ``metrics.jsonl``) is watched as attempt 1.
Reopening the page builds a new RunWatch, which reads the files once from the start and then only
what is new: that is how every front re-attaches.
What it is not for: deciding anything, or drawing (the fronts draw).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.agent.approval_desk import pending_request
from openlora.trainer.rundir import GoalDir, RunDir, attempt_numbers, read_json
from openlora.trainer.tail import JsonlTail, TextTail
from openlora.ui_core.supervised_runs import SupervisorState, supervisor_state

TIMELINE_LINES = 2000  # the supervisor's lines a monitor keeps (older ones stay in supervisor.log)
MEMORY_FIELDS = ("gpu_mem_used_mb", "cuda_mem_allocated_mb", "rss_mb")  # the first present is plotted


@dataclass
class AttemptSeries:
    """One attempt's figures over steps, as plotted."""

    number: int
    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    memory_mb: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)  # the newest step event's figures
    ended: str | None = None  # completed / stopped / the guard's status
    download: dict[str, Any] | None = None  # the newest download event while the base model downloads

    def take(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "step" and isinstance(event.get("step"), int):
            self.steps.append(event["step"])
            self.loss.append(_number(event.get("loss")))
            self.lr.append(_number(event.get("lr")))
            self.tokens_per_s.append(_number(event.get("tokens_per_s")))
            memory = next((event[f] for f in MEMORY_FIELDS if f in event), None)
            self.memory_mb.append(_number(memory))
            self.last, self.download = event, None
        elif kind == "eval" and isinstance(event.get("step"), int):
            self.val_steps.append(event["step"])
            self.val_loss.append(_number(event.get("val_loss")))
        elif kind == "download":
            self.download = event
        elif kind in ("completed", "stopped"):
            self.ended = kind
        elif kind == "guard":
            self.ended = str(event.get("status"))


def _number(value: Any) -> float:
    """A figure as a float (``nan`` where it is missing or written as "nan"/"inf")."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


@dataclass
class RunUpdate:
    """What one refresh found new, and where the run stands now."""

    events: list[dict[str, Any]]
    log_lines: list[str]
    metrics: dict[int, list[dict[str, Any]]]
    state: SupervisorState
    pending: dict[str, Any] | None


class RunWatch:
    """Incremental reader of one run folder (a supervised goal's, or a single training run's)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.desk = GoalDir(root)
        self.single = RunDir(root).metrics.is_file() and not attempt_numbers(root)
        self.events_tail = JsonlTail(self.desk.agent_events)
        self.log_tail = TextTail(self.desk.supervisor_log)
        self.metric_tails: dict[int, JsonlTail] = {}
        self.attempts: dict[int, AttemptSeries] = {}
        self.events: list[dict[str, Any]] = []
        self.timeline: deque[str] = deque(maxlen=TIMELINE_LINES)

    def refresh(self) -> RunUpdate:
        events = self.events_tail.read_new()
        self.events.extend(events)
        lines = self.log_tail.read_new()
        self.timeline.extend(lines)
        metrics: dict[int, list[dict[str, Any]]] = {}
        for number, tail in self._metric_tails().items():
            new = tail.read_new()
            if new:
                series = self.attempts.setdefault(number, AttemptSeries(number))
                for event in new:
                    series.take(event)
                metrics[number] = new
        state = "finished" if self.single and self._single_ended() else supervisor_state(self.root)
        return RunUpdate(events, lines, metrics, state, pending_request(self.root))

    def _metric_tails(self) -> dict[int, JsonlTail]:
        if self.single:
            self.metric_tails.setdefault(1, JsonlTail(RunDir(self.root).metrics))
            return self.metric_tails
        for number in attempt_numbers(self.root):
            if number not in self.metric_tails:
                self.metric_tails[number] = JsonlTail(self.desk.attempt(number).metrics)
        return dict(sorted(self.metric_tails.items()))

    def _single_ended(self) -> bool:
        return RunDir(self.root).result.is_file()

    def report(self) -> dict[str, Any] | None:
        """The supervisor's ``report.json`` once written (None before, or when unreadable)."""
        try:
            report = read_json(self.desk.report_json)
        except (FileNotFoundError, ValueError):
            return None
        return report if isinstance(report, dict) else None

    @property
    def current(self) -> AttemptSeries | None:
        """The newest attempt with figures."""
        return self.attempts[max(self.attempts)] if self.attempts else None
