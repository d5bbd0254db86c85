"""The warm fork server: a forked trainer is the same trainer as a fresh process, detached like one."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psutil
import pytest

from openlora.trainer import forkserver, spawner
from openlora.trainer.rundir import RunDir, loss_trace, read_json
from tests.conftest import make_run


def _train(run: Path, env: dict[str, str]) -> int:
    pid = spawner.spawn("openlora.trainer", [str(run)], RunDir(run).trainer_log, env)
    assert spawner.wait(pid, 300)
    return pid


def test_a_forked_trainer_trains_exactly_as_a_fresh_process(tiny_llama, kv_dataset, tmp_path):
    settings = {"base_model": str(tiny_llama), "dataset": str(kv_dataset), "max_steps": 20}
    plain, forked, again = (make_run(tmp_path / name, **settings) for name in ("plain", "forked", "again"))
    _train(plain, {**os.environ, "OPENLORA_FORKSERVER": "off"})
    _train(forked, dict(os.environ))
    server = spawner._server
    assert server is not None and server.wait_ready()  # this machine can fork it
    pid = spawner.spawn("openlora.trainer", [str(again)], RunDir(again).trainer_log, dict(os.environ))
    assert psutil.Process(pid).ppid() == server.proc.pid  # forked by the server, not a new interpreter
    assert os.getsid(pid) == pid  # a session of its own: it outlives the supervisor
    assert spawner.wait(pid, 300)
    traces = [list(loss_trace(RunDir(run).metrics).values()) for run in (plain, forked, again)]
    assert len(traces[0]) == 20 and traces[0] == traces[1] == traces[2]  # to the last digit
    assert all(read_json(RunDir(run).result)["status"] == "completed" for run in (plain, forked, again))
    assert "completed: trained 20 steps" in RunDir(again).trainer_log.read_text()  # its output, its log


def test_a_different_import_time_environment_gets_its_own_server(tiny_llama, kv_dataset, tmp_path):
    run = make_run(tmp_path / "run", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=2)
    _train(run, dict(os.environ))
    first = spawner._server
    other = make_run(tmp_path / "other", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=2)
    # a value no earlier test can have left in os.environ (importing openlora.web sets telemetry off)
    _train(other, {**os.environ, "HF_HUB_ETAG_TIMEOUT": "17", "OPENLORA_HOME": str(tmp_path)})
    assert spawner._server is not first and first.proc.poll() is not None  # replaced, and it exited
    assert read_json(RunDir(other).result)["status"] == "completed"
    assert spawner.server_identity({"OPENLORA_HOME": "a", "TQDM_DISABLE": "1"}) == ()  # read at run time


def test_an_unknown_entry_or_a_live_thread_is_refused(tmp_path):
    server = spawner._server_for(dict(os.environ))  # the warm one of the tests before, if any
    assert server is not None and server.wait_ready()
    request = {"entry": "os", "args": [], "log": str(tmp_path / "log"), "env": {}, "cwd": str(tmp_path)}
    with pytest.raises(OSError, match="unknown entry"):
        server.fork(request)
    assert server.proc.poll() is None  # a bad request costs the server nothing
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert "Python threads are running" in forkserver.fork_blocker()
    finally:
        stop.set()
        worker.join()
