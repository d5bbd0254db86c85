"""A supervised run started by a front is its own process: killing the front leaves it running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openlora.agent.approval_desk import answer, pending_request
from openlora.ui_core.run_watch import RunWatch
from openlora.ui_core.supervised_runs import supervisor_state
from tests.agent.conftest import write_goal

FRONT = """
import sys, time
from pathlib import Path
from openlora.ui_core.supervised_runs import start_supervised_run
print(start_supervised_run(Path(sys.argv[1]), Path(sys.argv[2]), "kv-rescue"), flush=True)
time.sleep(600)
"""


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.long
def test_a_run_outlives_its_killed_front_and_takes_an_approval_from_another(
    home, tiny_llama, kv_dataset, tmp_path
):
    goal = write_goal(tmp_path / "goal", tiny_llama, kv_dataset, approval="ask")
    runs = tmp_path / "runs"
    env = {**os.environ, "OPENLORA_HOME": str(home)}
    front = subprocess.Popen(
        [sys.executable, "-c", FRONT, str(goal), str(runs)], stdout=subprocess.PIPE, text=True, env=env
    )
    root = Path(front.stdout.readline().strip())
    front.send_signal(signal.SIGKILL)  # the TUI or web server dies at once
    front.wait(10)
    watch = RunWatch(root)
    assert watch.refresh().state == "running"

    request = _wait(lambda: pending_request(root), 240, "the proposal after the NaN")
    assert request["question"]["diagnosis"] == "nan" and watch.refresh().pending == request
    assert answer(root, request["id"], {"choice": "approve"}, by="test front")
    _wait(lambda: supervisor_state(root) == "finished", 240, "the run to finish")

    update = watch.refresh()
    assert update.state == "finished" and watch.report()["outcome"] == "success"
    assert sorted(watch.attempts) == [1, 2] and watch.attempts[2].steps
    assert any("[run] starting kv-rescue" in line for line in watch.timeline)
    decisions = [e for e in watch.events if e["event"] == "approval"]
    assert [e["choice"] for e in decisions] == ["approve"]
    again = RunWatch(root)  # a reopened page re-attaches to the same figures
    again.refresh()
    assert again.attempts[2].steps == watch.attempts[2].steps
    assert json.loads((root / "report.json").read_text())["attempts"][0]["decision"]["approved"] == "person"
