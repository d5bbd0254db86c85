"""BrokenLoRA with ``--engine ray``: the smallest selection (one case, one strategy) as Ray tasks."""

from __future__ import annotations

import json
import time

import pytest

from bench.brokenlora.__main__ import main
from tests.agent.test_ray_engine import _ray_processes


@pytest.mark.long  # about 25 s on 2 cores: a local Ray cluster, one reference and one strategy
def test_engine_ray_runs_the_strategy_and_reference_as_ray_tasks(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENLORA_HOME", str(tmp_path / "home"))
    argv = ["--smoke", "--cases", "healthy_kv", "--strategies", "naive_retry", "--engine", "ray"]
    summary = main([*argv, "--out", str(tmp_path / "results"), "--workdir", str(tmp_path / "work")])

    saved = json.loads((tmp_path / "results" / "brokenlora-smoke.json").read_text())
    (row,) = saved["rows"]
    assert (row["strategy"], row["case"], row["error"]) == ("naive_retry", "healthy_kv", None)
    assert row["reached_target"] and row["attempts"] == 1  # a healthy control meets its goal as configured
    assert summary["naive_retry"]["false_interventions"] == 0
    deadline = time.time() + 20
    while _ray_processes() and time.time() < deadline:  # the local cluster was shut down
        time.sleep(0.2)
    assert not _ray_processes()
