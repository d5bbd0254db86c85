"""Goals on a real local Ray cluster (2 CPUs, no dashboard): concurrent goals, a killed worker, Ctrl-C.

The cluster starts once for the module and is shut down at its end, leaving no Ray process behind.
The goals are the fast supervisor goals of the other tests: the tiny llama, pinned batch and learning
rate (no probes), no memory, no evaluation, so no advisor is loaded.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from openlora.agent import ray_engine
from openlora.agent.goal import GoalError, load_goal
from openlora.memory.registry import RunRegistry
from openlora.trainer.rundir import GoalDir, read_events, read_json
from tests.agent.conftest import write_goal

HEALTHY = {"learning_rate": 0.01, "weight_decay": 0.0, "max_steps": 10}
FAST = {"memory": False, "evaluation": {"samples": 0}}
RAY_PROCESSES = ("raylet", "gcs_server", "default_worker.py", "ray::")


def _ray_processes() -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if any(mark in line for mark in RAY_PROCESSES):
            found.append(f"{proc.pid} {line[:120]}")
    return found


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, configure_logging=True)
    yield ray
    ray.shutdown()
    deadline = time.time() + 20
    while _ray_processes() and time.time() < deadline:
        time.sleep(0.2)
    assert not _ray_processes(), _ray_processes()


def _healthy(folder: Path, tiny_llama: Path, data: Path, name: str = "healthy", **training) -> Path:
    return write_goal(
        folder,
        tiny_llama,
        data,
        name=name,
        training=HEALTHY | training,
        success={"val_loss_below": 100.0},
        **FAST,
    )


def _broken(folder: Path, tiny_llama: Path, data: Path) -> Path:
    """The NaN goal with one attempt: it fails without a decision (known outcome: failed, 1 attempt)."""
    return write_goal(folder, tiny_llama, data, name="broken", budget={"max_attempts": 1}, **FAST)


def _plan(ray, goals: list[Path], runs: Path) -> list[ray_engine.GoalTask]:
    cluster = {k: float(v) for k, v in ray.cluster_resources().items()}
    return ray_engine.plan_goals(goals, runs, cluster)


def _wait_for_steps(attempt: Path, timeout_s: float = 180) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if any(e.get("event") == "step" for e in read_events(attempt / "metrics.jsonl")):
            return
        time.sleep(0.05)
    raise AssertionError(f"{attempt} never trained a step")


def test_a_goal_reserves_what_its_training_uses_unless_resources_says_otherwise(
    tiny_llama, kv_dataset, tmp_path
):
    def reserved(**overrides):
        return ray_engine.goal_resources(
            load_goal(write_goal(tmp_path / "g", tiny_llama, kv_dataset, **overrides))
        )

    assert reserved(training={"num_threads": 3}) == ray_engine.TaskResources(3.0, 0.0, None)
    assert reserved(training={"num_threads": 2, "device": "cuda"}).num_gpus == 1.0
    launcher = {"kind": "torchrun", "nproc_per_node": 2}
    torchrun = reserved(training={"num_threads": 1, "device": "cuda", "launcher": launcher})
    assert (torchrun.num_cpus, torchrun.num_gpus) == (2.0, 2.0)
    auto = load_goal(write_goal(tmp_path / "a", tiny_llama, kv_dataset, training={"num_threads": 1}))
    assert ray_engine.goal_resources(auto, cluster_gpus=4).num_gpus == 1.0  # device auto on a GPU cluster
    pinned = reserved(resources={"num_cpus": 0.5, "num_gpus": 0.25, "memory_gb": 2})
    assert pinned == ray_engine.TaskResources(0.5, 0.25, 2.0)
    assert pinned.options() == {"num_cpus": 0.5, "num_gpus": 0.25, "memory": 2 * 2**30}
    with pytest.raises(GoalError, match=r"resources\.num_gpus"):
        reserved(resources={"num_gpus": -1})
    with pytest.raises(GoalError, match=r"resources\.cores"):
        reserved(resources={"cores": 2})


def test_run_tasks_returns_values_in_order_and_exceptions_as_values(ray_cluster):
    values = ray_engine.run_tasks(
        _square_or_fail, [(2,), (-1,), (3,)], [ray_engine.TaskResources(0.5)] * 3, names=["a", "b", "c"]
    )
    assert values[0] == 4 and values[2] == 9
    assert isinstance(values[1], ValueError) and "negative" in str(values[1])


def _square_or_fail(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


# about 10 s on 2 cores (the module's cluster started): two supervisors and their trainers at once
def test_two_goals_at_once_end_as_each_does_alone(home, ray_cluster, tiny_llama, kv_dataset, tmp_path):
    from openlora.cli.main import app

    healthy = _healthy(tmp_path / "healthy", tiny_llama, kv_dataset)
    broken = _broken(tmp_path / "broken", tiny_llama, kv_dataset)
    runs = tmp_path / "runs"
    began = time.monotonic()
    result = CliRunner().invoke(
        app, ["run", str(healthy), str(broken), "--runs", str(runs), "--ray", "local"]
    )
    seconds = time.monotonic() - began
    assert result.exit_code == 1, result.output  # one goal did not succeed
    assert "healthy: outcome: success after 1 attempt(s)" in result.output
    assert "broken: outcome: failed after 1 attempt(s)" in result.output
    roots = {p.name.rsplit("-", 2)[0]: p for p in runs.iterdir()}
    assert set(roots) == {"healthy", "broken"}
    for name, root in roots.items():
        assert f"{name}: report: {GoalDir(root).report_md}" in result.output
        assert GoalDir(root).report_md.is_file() and GoalDir(root).supervisor_log.is_file()
        assert [r["number"] for r in RunRegistry().attempts(root.name)] == [1]
    statuses = {n: read_json(GoalDir(r).attempt(1).result)["status"] for n, r in roots.items()}
    assert statuses == {"healthy": "completed", "broken": "nan"}  # as when each runs alone
    assert seconds < 170


@pytest.mark.long  # about 35 s on 2 cores: the trainer runs on while a new worker resumes the goal
def test_a_killed_worker_resumes_its_goal_which_ends_once(
    home, ray_cluster, tiny_llama, kv_dataset, tmp_path
):
    goal = _healthy(tmp_path / "goal", tiny_llama, kv_dataset, max_steps=1200, eval_every=600, save_every=600)
    (task,) = _plan(ray_cluster, [goal], tmp_path / "runs")
    results: list[ray_engine.GoalResult] = []
    driver = threading.Thread(target=lambda: results.extend(ray_engine.supervise_goals([task])))
    driver.start()
    attempt = GoalDir(task.run_root).attempt(1).root
    _wait_for_steps(attempt)
    worker = int(GoalDir(task.run_root).supervisor_pid.read_text())
    trainer = read_json(attempt / "trainer.pid")["pid"]
    assert worker != os.getpid()
    os.kill(worker, signal.SIGKILL)
    time.sleep(1)
    assert psutil.pid_exists(trainer)  # the trainer outlived its supervisor's worker
    driver.join(timeout=300)
    assert not driver.is_alive()

    (result,) = results
    assert result.error is None and result.outcome == "success" and result.resumed
    assert result.attempts == 1
    assert int(GoalDir(task.run_root).supervisor_pid.read_text()) != worker  # a second worker finished it
    log = GoalDir(task.run_root).supervisor_log.read_text()
    assert log.count("[run] starting") == 1 and log.count("[run] resuming") == 1
    starts = [e for e in read_events(attempt / "metrics.jsonl") if e["event"] == "run_start"]
    assert len(starts) == 1 and read_json(attempt / "trainer.pid")["pid"] == trainer  # reattached
    assert sorted(p.name for p in task.run_root.glob("attempt-*")) == ["attempt-1"]
    rows = RunRegistry().attempts(task.run_root.name)
    assert [(r["number"], r["status"]) for r in rows] == [(1, "completed")]


# about 12 s on 2 cores
def test_a_cancelled_goal_stops_its_trainer(home, ray_cluster, tiny_llama, kv_dataset, tmp_path):
    goal = _healthy(
        tmp_path / "goal", tiny_llama, kv_dataset, max_steps=20000, eval_every=5000, save_every=50
    )
    (task,) = _plan(ray_cluster, [goal], tmp_path / "runs")
    remote = ray_cluster.remote(max_calls=1, max_retries=ray_engine.MAX_RETRIES)(ray_engine.supervise_one)
    ref = remote.options(**task.resources.options()).remote(task, False, ray_engine.passed_env())
    attempt = GoalDir(task.run_root).attempt(1).root
    _wait_for_steps(attempt)
    trainer = psutil.Process(read_json(attempt / "trainer.pid")["pid"])

    ray_engine.cancel(ray_cluster, [ref], grace_s=150)  # what Ctrl-C does in the driver
    with pytest.raises(ray_cluster.exceptions.TaskCancelledError):
        ray_cluster.get(ref, timeout=30)
    assert not trainer.is_running() or trainer.status() == psutil.STATUS_ZOMBIE
    assert read_json(attempt / "result.json")["status"] == "killed"  # it checkpointed and ended


def test_several_goals_without_ray_are_refused_with_the_way_to_run_them(tiny_llama, kv_dataset, tmp_path):
    from openlora.cli.main import app

    one = _healthy(tmp_path / "one", tiny_llama, kv_dataset)
    result = CliRunner().invoke(app, ["run", str(one), str(one), "--runs", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "add --ray local" in result.output
    assert not (tmp_path / "runs").exists()
