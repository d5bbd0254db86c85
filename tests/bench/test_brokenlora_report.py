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


def test_rows_are_tabled_per_fault_class_and_faults_met_as_configured_are_named():
    from bench.brokenlora.report import not_faults, per_case_table

    rows = [
        _row(
            strategy="rules_only",
            case="lr_low",
            kind="fault",
            fault="plateau",
            expect="rescue",
            reached_target=True,
            attempts=2,
            final_val=5.6,
            first_met=False,
        ),
        _row(
            strategy="rules_only",
            case="warm",
            kind="fault",
            fault="warmup",
            expect="rescue",
            reached_target=True,
            attempts=1,
            final_val=5.6,
            first_met=True,
        ),
        _row(
            strategy="rules_only",
            case="both",
            kind="compound",
            fault="plateau",
            expect="rescue",
            reached_target=False,
            attempts=4,
            first_met=False,
        ),
        _row(
            strategy="openlora",
            case="warm",
            kind="fault",
            fault="warmup",
            expect="rescue",
            reached_target=True,
            attempts=1,
            final_val=5.6,
            first_met=True,
        ),  # memory may have fixed it
    ]
    summary = summarize(rows, ["rules_only"])
    table = per_case_table(summary, by_class=True)
    assert "| plateau | 1/1 |" in table and "| warmup | 1/1 |" in table and "| compound | 0/1 |" in table
    assert not_faults(rows) == ["warm@0"]  # met as configured by a strategy without memory
