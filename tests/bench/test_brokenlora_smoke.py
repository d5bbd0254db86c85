"""BrokenLoRA in its two-case smoke form: every strategy (but openlora without its memory, the same
supervisor) on a NaN case and a healthy control."""

from __future__ import annotations

import json

import pytest

from bench.brokenlora.__main__ import SMOKE_STRATEGIES, main

REQUIRED = (
    "rescue_rate",
    "median_attempts",
    "failed_compute_seconds",
    "false_interventions",
    "schema_valid_rate",
    "out_of_bounds",
    "repeat_attempt_reduction",
)


@pytest.mark.long  # about 2.5 minutes: 23 trainer runs over five strategies
def test_smoke_runs_every_strategy_and_writes_comparable_results(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENLORA_HOME", str(tmp_path / "home"))
    summary = main(["--smoke", "--out", str(tmp_path / "results"), "--workdir", str(tmp_path / "work")])

    saved = json.loads((tmp_path / "results" / "brokenlora-smoke.json").read_text())
    assert set(saved["strategies"]) == set(SMOKE_STRATEGIES) and len(SMOKE_STRATEGIES) == 5
    for name, measures in saved["strategies"].items():
        assert all(key in measures for key in REQUIRED), name
    assert (tmp_path / "results" / "brokenlora-smoke.md").read_text().count("\n| ") >= len(SMOKE_STRATEGIES)

    ours = summary["openlora"]
    assert ours["rescue_rate"] == 1.0  # the NaN case is rescued within the budget
    assert ours["false_interventions"] == 0  # and the healthy control is left alone
    assert ours["schema_valid_rate"] == 1.0 and ours["out_of_bounds"] == 0
    for name in ("openlora", "rules_only"):  # every reason the run's reports show passes the check
        assert summary[name]["unreadable_reasons"] == [], summary[name]["unreadable_reasons"]
    table = (tmp_path / "results" / "brokenlora-smoke.md").read_text()
    assert "Reasons shown to a person: every one passes" in table
    assert ours["repeat_attempt_reduction"] is not None and ours["repeat_attempt_reduction"] > 0
    assert summary["naive_retry"]["repeat_attempt_reduction"] is None
    rows = {(r["strategy"], r["case"], r["pass"]): r for r in saved["rows"]}
    assert rows[("naive_retry", "nan_lr", "first")]["attempts"] >= 2  # the same broken lr fails again
