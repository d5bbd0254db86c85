"""What a monitor draws of a run folder: thinned curves, the newest figures, each attempt's fate."""

from __future__ import annotations

import json
import math

import pytest

from openlora.trainer.rundir import GoalDir
from openlora.ui_core.approvals import VerdictError, describe, verdict_of
from openlora.ui_core.monitor_view import attempt_rows, curves, figures_line, outcome_line, thin
from openlora.ui_core.run_watch import RunWatch


def _lines(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_a_long_series_is_thinned_keeping_its_last_point_and_dropping_non_finite_values():
    steps = list(range(1, 10_001))
    values = [float(s) for s in steps]
    values[4] = math.nan
    kept = thin(steps, values, max_points=100)
    assert len(kept) <= 101 and kept[-1] == (10_000, 10_000.0) and kept[0] == (1, 1.0)
    assert all(math.isfinite(v) for _, v in kept)
    assert thin([1, 2, 3], [1.0, math.nan, 3.0]) == [(1, 1.0), (3, 3.0)]


def test_the_monitor_reads_attempts_decisions_and_answers_from_the_folder(tmp_path):
    desk = GoalDir(tmp_path / "run")
    steps = [
        {"event": "step", "step": s, "loss": 5.0 - s / 10, "lr": 30, "tokens_per_s": 100, "rss_mb": 300}
        for s in (1, 2)
    ]
    _lines(
        desk.attempt(1).metrics,
        [*steps, {"event": "step", "step": 3, "loss": "nan"}, {"event": "guard", "status": "nan"}],
    )
    _lines(
        desk.attempt(2).metrics,
        [
            {"event": "step", "step": 1, "loss": 4.0, "lr": 0.01},
            {"event": "eval", "step": 1, "val_loss": 4.2},
        ],
    )
    _lines(
        desk.agent_events,
        [
            {"event": "diagnosis", "diagnosis": "nan", "attempt": 1},
            {
                "event": "decision",
                "attempt": 1,
                "action": "lower_lr",
                "tool": "relaunch_from_checkpoint",
                "arguments": {"learning_rate": 0.01},
                "source": "advisor",
            },
            {"event": "approval", "choice": "approve", "attempt": 1},
        ],
    )
    watch = RunWatch(desk.root)
    update = watch.refresh()
    assert update.state == "stopped" and outcome_line(watch, update.state).startswith("stopped")
    rows = attempt_rows(watch)
    assert rows[0][:5] == ["1", "3", "4.8", "nan", "nan"]
    assert (
        rows[0][5] == 'lower_lr: relaunch_from_checkpoint {"learning_rate": 0.01} [advisor]'
        and rows[0][6] == "approve"
    )
    assert rows[1][:4] == ["2", "1", "4", "—"]
    plotted = curves(watch)
    assert ("attempt 1 train" in {p[2] for p in plotted["loss"]}) and (1, 4.2, "attempt 2 val") in plotted[
        "loss"
    ]
    assert len([p for p in plotted["loss"] if p[2] == "attempt 1 train"]) == 2  # the NaN step is not drawn
    assert (
        figures_line(watch.current)
        == "attempt 2 · step 1 · 1 steps plotted · loss 4 · lr 0.01 · val loss 4.2"
    )
    assert figures_line(None) == "waiting for the first step…"


def test_a_proposal_reads_the_same_on_every_front_and_the_buttons_make_verdicts():
    question = {
        "attempt": 1,
        "diagnosis": "nan",
        "action": "lower_lr",
        "changes": {"learning_rate": 0.01},
        "reason": "too high",
        "source": "advisor",
        "bounds": {"learning_rate": [0.001, 60]},
    }
    assert describe(question).splitlines() == [
        "Attempt 1 ended: nan.",
        'Proposed: lower_lr {"learning_rate": 0.01}',
        "Why: too high [advisor]",
        "An edited learning_rate must stay within 0.001 – 60.",
    ]
    assert verdict_of("approve", note=" ok ") == {"choice": "approve", "note": "ok"}
    assert verdict_of("edit", '{"learning_rate": 0.02}') == {
        "choice": "edit",
        "changes": {"learning_rate": 0.02},
        "note": "",
    }
    for bad in ("not json", "[1]"):
        with pytest.raises(VerdictError):
            verdict_of("edit", bad)
