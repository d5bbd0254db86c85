"""The supervisor during a hub download: progress on the terminal, and no wall-time stop while it moves.

The ``download`` events are written by the test as the trainer writes them (a stand-in for a real
download; no network).
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

from openlora.agent.monitor import _show_download, download_seconds, wall_budget_spent
from openlora.trainer.download_events import DownloadTracker
from openlora.trainer.rundir import GoalDir
from openlora.trainer.telemetry import MetricsWriter

MB = 1_000_000


def _tracker(*events: dict) -> DownloadTracker:
    tracker = DownloadTracker()
    for event in events:
        tracker.take(event)
    return tracker


def _download(done: int, at: float, total: int | None = 270 * MB, name: str = "model.safetensors") -> dict:
    return {"event": "download", "file": name, "bytes_done": done, "bytes_total": total, "time": at}


def test_a_download_that_keeps_reporting_does_not_spend_the_wall_time_budget():
    now = time.time()
    deadline = now - 1200  # the goal's wall time ran out 20 minutes ago…
    moving = _tracker(_download(0, now - 3600), _download(200 * MB, now - 1))  # …an hour went on this
    assert not wall_budget_spent(deadline, moving)
    assert wall_budget_spent(deadline, DownloadTracker())  # no download: the budget is spent
    # ten minutes of progress, then silence for an hour: only those ten minutes are not counted
    stalled = _tracker(_download(0, now - 4200), _download(10 * MB, now - 3600))
    assert wall_budget_spent(deadline, stalled)


def test_earlier_attempts_downloads_are_added_to_the_goals_wall_time(tmp_path):
    goal = GoalDir(tmp_path / "run")
    first = goal.attempt(1)
    first.root.mkdir(parents=True)
    lines = [_download(0, 1000.0), _download(270 * MB, 1900.0), {"event": "run_start", "time": 1950.0}]
    first.metrics.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    goal.attempt(2).root.mkdir()
    MetricsWriter(goal.attempt(2).metrics).write("run_start", total_steps=3)  # the cache: no download
    assert download_seconds(goal.root, 2) == 900.0
    assert download_seconds(goal.root, 0) == 0.0


def test_the_terminal_hears_of_a_download_at_each_tenth_and_not_after_training_starts():
    said: list[str] = []
    ctx = SimpleNamespace(recorder=SimpleNamespace(echo=said.append))
    events = [_download(done * MB, float(done)) for done in (0, 5, 20, 27, 30, 270)]
    events += [{"event": "run_start", "total_steps": 10}, {"event": "step", "step": 1, "loss": 2.0}]
    tracker, shown = DownloadTracker(), ""
    for event in events:
        tracker.take(event)
        shown = _show_download(ctx, 1, tracker, shown)
    assert said == [
        "[monitor] attempt 1 downloading model.safetensors 0 B / 270 MB (0 %)",
        "[monitor] attempt 1 downloading model.safetensors 27 MB / 270 MB (10 %)",
        "[monitor] attempt 1 downloaded 1 file(s), 270 MB; preparing the run…",
    ]


def test_download_events_of_the_wrong_shape_are_ignored():
    tracker = _tracker(
        {"event": "download", "file": 3, "bytes_done": 1},
        {"event": "download", "file": "a", "bytes_done": "many"},
        {"event": "download", "file": "b", "bytes_done": True},
    )
    assert not tracker.downloading and tracker.text() == ""
    unknown = _tracker(_download(5 * MB, 0.0, total=None))
    assert unknown.text() == "downloading model.safetensors 5.0 MB" and unknown.current.fraction is None
