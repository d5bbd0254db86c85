"""The supervisor is the same for a run on two processes: a torchrun goal's NaN is rescued as alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlora.agent.runner import run_goal
from openlora.trainer.rundir import read_events
from tests.agent.conftest import write_goal

pytestmark = pytest.mark.long


def test_a_torchrun_goal_is_rescued_like_a_single_process_one(home, tiny_llama, kv_dataset, tmp_path):
    training = {"launcher": {"kind": "torchrun", "nproc_per_node": 2}, "batch_size": 2}
    goal = write_goal(tmp_path / "goal", tiny_llama, kv_dataset, training=training)
    final = run_goal(goal, tmp_path / "runs", echo=lambda _line: None, poll_s=0.1)

    assert final.outcome == "success"
    statuses = [a.status for a in final.attempts]
    assert statuses[0] == "nan" and statuses[-1] == "completed"  # as tests/agent/test_supervisor.py alone
    assert final.attempts[0].finding.diagnosis == "nan"
    for attempt in final.attempts:
        events = read_events(Path(attempt.run_dir) / "metrics.jsonl")
        assert next(e for e in events if e["event"] == "run_start")["ranks"] == 2
    done = next(
        e
        for e in read_events(Path(final.attempts[-1].run_dir) / "metrics.jsonl")
        if e["event"] == "completed"
    )
    assert done["replicas_identical"] is True
