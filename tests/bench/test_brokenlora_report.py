"""How BrokenLoRA scores rows: a refusal before training is a correct stop, an error never is."""

from __future__ import annotations

from bench.brokenlora.report import handled, summarize


def _row(**fields) -> dict:
    base = {
        "strategy": "openlora",
        "pass": "first",
        "seed": 0,
        "case": "trap",
        "kind": "trap",
        "expect": "stop",
        "reached_target": False,
        "attempts": 0,
        "failed_seconds": 0.0,
        "final_val": None,
        "first_loss": 6.0,
        "reference_val": 5.5,
        "error": None,
    }
    return base | fields


def test_stop_cases_count_refusals_and_short_stops_but_not_errors_or_lr_raises():
    assert handled(_row())  # refused before training
    assert handled(_row(attempts=2))
    assert not handled(_row(attempts=3))  # burnt the budget
    assert not handled(_row(attempts=1, raised_lr=True))  # the reflex fix
    assert not handled(_row(attempts=1, reached_target=True))  # "succeeded" on noise
    assert not handled(_row(error="RuntimeError: boom"))


def test_healthy_controls_count_every_intervention_per_20_runs():
    controls = [
        _row(case=f"healthy_{i}", kind="control", expect="leave", reached_target=True, attempts=1)
        for i in range(10)
    ]
    controls[3] |= {"interventions": 1, "attempts": 2}
    summary = summarize(controls, ["openlora"])["openlora"]
    assert summary["healthy_runs"] == 10 and summary["false_interventions"] == 1
    assert summary["interventions_per_20_healthy"] == 2.0
