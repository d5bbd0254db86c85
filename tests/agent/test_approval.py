"""``approval: ask``: the graph pauses at each proposal; approve, edit within bounds, or veto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openlora.agent.approval import ApprovalError, Verdict, apply_verdict
from openlora.agent.records import Decision, ToolCall
from openlora.agent.runner import RunError, run_goal
from openlora.memory.registry import RunRegistry
from openlora.trainer.rundir import GoalDir
from tests.agent.conftest import write_goal

DECISION = Decision(
    diagnosis="nan",
    action="lower_lr",
    call=ToolCall(tool="relaunch_from_checkpoint", args={"fix": "lower_lr", "learning_rate": 3.0}),
    reason="r",
    source="rules",
)
CONFIG = {"learning_rate": 30.0, "dataset": "x.jsonl", "name": "n", "base_model": "embedded:smollm2"}


def test_an_edit_outside_the_advisors_bounds_is_refused():
    with pytest.raises(ApprovalError, match="outside"):
        apply_verdict(DECISION, Verdict(choice="edit", changes={"learning_rate": 100.0}), CONFIG, 1e-4)
    with pytest.raises(ApprovalError, match="cannot be edited"):
        apply_verdict(DECISION, Verdict(choice="edit", changes={"lora_r": 8}), CONFIG, 1e-4)
    edited = apply_verdict(DECISION, Verdict(choice="edit", changes={"learning_rate": 1e-3}), CONFIG, 1e-4)
    assert edited.changes == {"learning_rate": 1e-3} and edited.source == "person"
    assert edited.call.args["fix"] == "lower_lr" and edited.approved == "person"
    vetoed = apply_verdict(DECISION, Verdict(choice="veto", note="too risky"), CONFIG, 1e-4)
    assert vetoed.action == "stop" and vetoed.stops and "too risky" in vetoed.reason


def test_ask_without_anyone_to_answer_fails_before_anything_runs(home, tiny_llama, kv_dataset, tmp_path):
    goal = write_goal(tmp_path / "goal", tiny_llama, kv_dataset, approval="ask")
    with pytest.raises(RunError, match="approval is 'ask'"):
        run_goal(goal, tmp_path / "runs")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_bad_edit_is_sent_back_then_a_veto_stops_the_run(home, tiny_llama, kv_dataset, tmp_path):
    goal = write_goal(tmp_path / "goal", tiny_llama, kv_dataset, approval="ask")
    asked: list[dict] = []
    answers = iter(
        [{"choice": "edit", "changes": {"learning_rate": 1000.0}}, {"choice": "veto", "note": "no"}]
    )

    def approve(question: dict) -> dict:
        asked.append(question)
        return next(answers)

    final = run_goal(goal, tmp_path / "runs", echo=lambda _: None, poll_s=0.1, approve=approve)

    assert [q["diagnosis"] for q in asked] == ["nan", "nan"]
    assert "error" not in asked[0] and "outside" in asked[1]["error"]
    assert asked[0]["tool"] == "relaunch_from_checkpoint"
    assert final.outcome == "failed" and len(final.attempts) == 1  # nothing relaunched
    decision = final.attempts[-1].decision
    assert decision.action == "stop" and decision.source == "person"
    root = GoalDir(Path(final.run_root))
    events = [json.loads(line) for line in root.agent_events.read_text().splitlines()]
    assert [e["choice"] for e in events if e["event"] == "approval"] == ["veto"]
    decisions = RunRegistry().decisions(root.root.name)
    assert decisions[-1]["source"] == "person" and decisions[-1]["action"] == "stop"
    assert "vetoed by the person: no" in root.report_md.read_text()


def test_an_approved_fix_relaunches(home, tiny_llama, kv_dataset, tmp_path):
    goal = write_goal(tmp_path / "goal", tiny_llama, kv_dataset, approval="ask")
    final = run_goal(
        goal, tmp_path / "runs", echo=lambda _: None, poll_s=0.1, approve=lambda q: {"choice": "approve"}
    )
    assert final.outcome == "success"
    assert final.attempts[0].decision.approved == "person"
