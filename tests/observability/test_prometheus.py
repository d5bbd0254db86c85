"""A real Prometheus (Debian's package; .ci/run installs it) scrapes the exporter during real runs,
and every PromQL expression of the Grafana dashboard returns data through Prometheus's HTTP API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from openlora.observability.exporter import serve
from openlora.tools.context import ToolContext
from openlora.tools.launch_run import launch_run
from openlora.tools.stop_run import stop_run
from openlora.trainer.config import TrainConfig

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "openlora.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def dashboard_expressions(with_gpu: bool) -> list[str]:
    data = json.loads(DASHBOARD.read_text())
    exprs = [
        t["expr"]
        for p in data["panels"]
        for t in p.get("targets", [])
        if with_gpu or t.get("openlora_requires") != "gpu"
    ]
    exprs += [a["expr"] for a in data["annotations"]["list"] if "expr" in a]
    return exprs


@pytest.fixture
def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("OPENLORA_REQUIRE_PROMETHEUS"):
            pytest.fail("prometheus is not installed (.ci/run installs Debian's package)")
        pytest.skip("prometheus is not installed here; .ci/run installs it")
    return binary


def _start_prometheus(binary: str, exporter_port: int, folder: Path) -> tuple[subprocess.Popen, str]:
    """A Prometheus scraping the exporter every second; returns it (ready) and its API address."""
    prometheus_port = _free_port()
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: openlora\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
    )
    prometheus = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{prometheus_port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{api}/-/ready", timeout=2)
            return prometheus, api
        except OSError:
            if time.time() >= deadline or prometheus.poll() is not None:
                prometheus.terminate()
                pytest.fail("prometheus did not start")
            time.sleep(0.2)


def _long_training(tiny_llama: Path, kv_dataset: Path) -> dict:
    """A training config that runs far longer than the test (the live trainer's CPU and throughput)."""
    return TrainConfig.model_validate(
        {
            "base_model": str(tiny_llama),
            "dataset": str(kv_dataset),
            "max_steps": 100_000,
            "max_seq_len": 64,
            "learning_rate": 1e-2,
            "eval_every": 20,
            "save_every": 100_000,
            "num_threads": 1,
        }
    ).model_dump()


def test_every_dashboard_expression_returns_data(prometheus_binary, home, tiny_llama, kv_dataset, tmp_path):
    import torch

    from openlora.agent.runner import run_goal
    from tests.agent.conftest import write_goal

    runs = tmp_path / "runs"
    runs.mkdir()
    exporter_port = _free_port()
    server, _ = serve(runs, exporter_port)
    prometheus, api = _start_prometheus(prometheus_binary, exporter_port, tmp_path)
    long_run = ToolContext(runs / "long-training")
    try:
        # A long training run stays alive while we query (live trainer CPU and throughput) ...
        launch_run(long_run, 1, training_config=_long_training(tiny_llama, kv_dataset))
        # ... and a supervised goal is rescued meanwhile (NaN → decision → relaunch → success).
        final = run_goal(
            write_goal(tmp_path / "goal", tiny_llama, kv_dataset), runs, echo=lambda _: None, poll_s=0.1
        )
        assert final.outcome == "success"
        time.sleep(4)  # a few more scrapes
        empty = []
        for expr in dashboard_expressions(with_gpu=torch.cuda.is_available()):
            answer = _get(f"{api}/api/v1/query?query={urllib.parse.quote(expr)}")
            assert answer["status"] == "success", expr
            if not answer["data"]["result"]:
                empty.append(expr)
        assert not empty, f"no data for: {empty}"
        targets = _get(f"{api}/api/v1/targets")["data"]["activeTargets"]
        assert targets and all(t["health"] == "up" for t in targets)
    finally:
        stop_run(long_run, 1)
        prometheus.terminate()
        prometheus.wait(timeout=30)
        server.shutdown()
