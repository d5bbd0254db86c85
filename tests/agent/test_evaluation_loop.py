"""The supervisor evaluates after success; more hallucination than the base leads to a data action."""

from __future__ import annotations

import json
from pathlib import Path

from openlora.agent.goal import EvaluationSettings
from openlora.agent.quality import Inventing, invention_not_from_data, quality_finding
from openlora.agent.runner import run_goal
from openlora.synthesis.filtering import filter_unsupported
from openlora.trainer.rundir import GoalDir
from tests.agent.conftest import write_goal

SIEM = Path(__file__).resolve().parents[2] / "examples" / "siem" / "pairs.jsonl"
SETTINGS = EvaluationSettings.model_validate(
    {
        "max_hallucination_increase": 0.1,
        "max_hallucination_rate": 0.2,
        "min_format_pass_rate": 0.9,
        "json": False,
        "labels": [],
    }
)


def test_siem_goal_trains_evaluates_and_reports_both_columns(home, tiny_llama, tmp_path):
    goal = write_goal(
        tmp_path / "goal",
        tiny_llama,
        SIEM,
        name="siem",
        success={"val_loss_below": 6.5},
        training={
            "learning_rate": 0.01,
            "weight_decay": 0.0,
            "max_steps": 10,
            "max_seq_len": 256,
            "val_fraction": 0.2,
        },
        evaluation={"samples": 6, "max_hallucination_increase": 1.0, "max_hallucination_rate": 1.0},
    )
    final = run_goal(goal, tmp_path / "runs", echo=lambda _: None, poll_s=0.1)
    assert final.outcome == "success"
    evaluation = final.attempts[-1].evaluation
    assert set(evaluation["summary"]) == {"adapter", "base"} and evaluation["samples"] == 6
    folder = GoalDir(Path(final.run_root))
    report = folder.report_md.read_text()
    assert "| metric | adapter | base |" in report and "| hallucination_rate |" in report
    saved = json.loads(folder.report_json.read_text())
    assert saved["attempts"][-1]["evaluation"]["summary"]["base"]["samples"] == 6


def test_rising_hallucination_is_a_data_problem_with_a_data_action(tmp_path):
    summary = {
        "adapter": {"hallucination_rate": 0.5, "format_pass_rate": 1.0},
        "base": {"hallucination_rate": 0.1, "format_pass_rate": 1.0},
    }
    finding = quality_finding(summary, SETTINGS)
    assert finding.diagnosis == "hallucination" and [c.action for c in finding.candidates] == ["filter_data"]
    assert [c.tool for c in finding.candidates] == ["relaunch_on_filtered_data"]
    assert (
        quality_finding(
            {"adapter": {"hallucination_rate": 0.15}, "base": {"hallucination_rate": 0.1}}, SETTINGS
        )
        is None
    )
    labels = SETTINGS.model_copy(update={"labels": ["low", "high"]})
    assert quality_finding({"adapter": {"format_pass_rate": 0.5}, "base": {}}, labels).diagnosis == (
        "format_failure"
    )
    assert quality_finding({"adapter": {"format_pass_rate": 0.5}, "base": {}}, SETTINGS) is None  # no format
    as_json = EvaluationSettings.model_validate({"json": True})
    assert as_json.json_output and quality_finding({"adapter": {"format_pass_rate": 0.5}}, as_json)

    data = tmp_path / "train.jsonl"
    rows = [
        {"prompt": "event from 10.0.0.1", "response": "source 10.0.0.1"},
        {"prompt": "event from 10.0.0.2", "response": "source 172.16.9.9 and user mallory"},
        {"prompt": "event from 10.0.0.3", "response": "source 10.0.0.3"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    filtered = filter_unsupported(data, tmp_path / "out" / "filtered.jsonl")
    assert filtered["kept"] == 2 and filtered["dropped_lines"] == [2]
    assert len((tmp_path / "out" / "filtered.jsonl").read_text().splitlines()) == 2


def test_inventing_is_judged_against_an_absolute_rate_and_only_blamed_on_data_that_teaches_it():
    chatty_base = {"adapter": {"hallucination_rate": 0.375}, "base": {"hallucination_rate": 1.0}}
    finding = quality_finding(chatty_base, SETTINGS, inventing=Inventing(50, 80))
    assert finding.diagnosis == "hallucination"
    assert finding.evidence == {
        "adapter_rate": 0.375,
        "base_rate": 1.0,
        "inventing_rows": 50,
        "training_pairs": 80,
    }
    assert "50 of the 80 training answers" in finding.candidates[0].why
    # filtering changes nothing
    assert quality_finding(chatty_base, SETTINGS, inventing=Inventing(0, 270)) is None
    note = invention_not_from_data(chatty_base, SETTINGS, Inventing(0, 270))
    assert note.startswith("the adapter invents facts in 38% of its answers") and "0 of the 270" in note
    # a finding is made instead
    assert invention_not_from_data(chatty_base, SETTINGS, Inventing(50, 80)) is None
    # under 2 %: not the cause
    assert quality_finding(chatty_base, SETTINGS, inventing=Inventing(1, 270)) is None
    faithful = {"adapter": {"hallucination_rate": 0.1}, "base": {"hallucination_rate": 1.0}}
    assert quality_finding(faithful, SETTINGS, inventing=Inventing(50, 80)) is None


def test_closed_book_answers_are_the_knowledge_to_learn_not_rows_to_filter():
    """Questions about a handbook: the right answers state facts their prompts lack (the eval file's
    references do too), so the rows that do are the knowledge itself and filtering is not the fix."""
    unseen = {"adapter": {"hallucination_rate": 0.35}, "base": {"hallucination_rate": 0.40}}
    handbook = Inventing(199, 493, reference_rows=51, reference_pairs=94)
    assert handbook.closed_book and quality_finding(unseen, SETTINGS, handbook) is None
    note = invention_not_from_data(unseen, SETTINGS, handbook)
    assert "51 of the 94 reference answers" in note and "would remove that knowledge" in note
    faithful_references = Inventing(50, 80, reference_rows=0, reference_pairs=12)  # the invented users
    assert not faithful_references.closed_book
    assert quality_finding(unseen, SETTINGS, faithful_references).diagnosis == "hallucination"
    rarely = Inventing(300, 400, reference_rows=2, reference_pairs=12)  # references far more faithful
    assert not rarely.closed_book and quality_finding(unseen, SETTINGS, rarely) is not None
