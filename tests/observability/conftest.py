"""One supervised rescue, observed the three ways the observability tests check, run once for all of them.

The rescue (NaN → decision → relaunch → success on the tiny model) takes some 25 s; the Grafana test and
the Prometheus test used to run one each. Here one run is watched at once by a stand-in Grafana (a local
HTTP server collecting the annotation posts) and by the exporter serving the runs folder, which a real
Prometheus scrapes every second where one is installed, while a long unsupervised training run stays
alive beside it (the live trainer's CPU and throughput series). Both stay up until the package's tests
are done, so the Prometheus test queries them live.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from openlora.observability.exporter import serve
from openlora.tools.context import ToolContext
from openlora.tools.launch_run import launch_run
from openlora.tools.stop_run import stop_run
from openlora.trainer.config import TrainConfig
from tests.fixtures.local_servers import free_port


class _Capture(BaseHTTPRequestHandler):
    """Stands in for Grafana's annotation API: records every POST (no Grafana server can run here)."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Capture.received.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"id": 1}')

    def log_message(self, *args) -> None:
        pass


def start_prometheus(binary: str, exporter_port: int, folder: Path) -> tuple[subprocess.Popen, str]:
    """A Prometheus scraping the exporter every second; returns it (ready) and its API address."""
    prometheus_port = free_port()
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
    while not _scraped_once(api):  # ready, and the exporter scraped: the rescue starts under watch
        if time.time() >= deadline or prometheus.poll() is not None:
            prometheus.terminate()
            raise RuntimeError("prometheus did not start, or never scraped the exporter in 60 s")
        time.sleep(0.2)
    return prometheus, api


def _scraped_once(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/api/v1/query?query=up", timeout=2) as response:
            result = json.loads(response.read())["data"]["result"]
    except (OSError, ValueError, KeyError):
        return False
    return any(r["value"][1] == "1" for r in result)


def long_training(tiny_llama: Path, kv_dataset: Path) -> dict:
    """A training config that runs far longer than the tests (the live trainer's CPU and throughput)."""
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


@dataclass
class ObservedRescue:
    final: Any  # the rescued goal's GoalRun
    annotations: list[dict]  # what the stand-in Grafana received during the run
    prometheus_api: str | None = None  # None where Prometheus is not installed (or did not start)
    prometheus_error: str | None = None


def _rescue(folder: Path, runs: Path, tiny_llama: Path, kv_dataset: Path) -> tuple[Any, list[dict]]:
    """The NaN goal rescued while a stand-in Grafana collects the annotations it posts."""
    from openlora.agent.runner import run_goal
    from tests.agent.conftest import write_goal

    grafana = HTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=grafana.serve_forever, daemon=True).start()
    _Capture.received.clear()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("OPENLORA_HOME", str(folder / "openlora-home"))  # registry and memory start empty
            env.setenv("OPENLORA_GRAFANA_URL", f"http://127.0.0.1:{grafana.server_address[1]}")
            env.setenv("OPENLORA_GRAFANA_TOKEN", "test-token")
            goal = write_goal(folder / "goal", tiny_llama, kv_dataset)
            final = run_goal(goal, runs, echo=lambda _: None, poll_s=0.1)
    finally:
        grafana.shutdown()
    return final, list(_Capture.received)


@pytest.fixture(scope="package")
def observed_rescue(tmp_path_factory, tiny_llama, kv_dataset) -> Iterator[ObservedRescue]:
    folder = tmp_path_factory.mktemp("observed-rescue")
    runs = folder / "runs"
    runs.mkdir()
    exporter_port = free_port()
    exporter, _ = serve(runs, exporter_port)
    observed = ObservedRescue(None, [])
    prometheus, binary = None, shutil.which("prometheus")
    long_run = ToolContext(runs / "long-training")
    try:
        if binary:
            try:
                prometheus, observed.prometheus_api = start_prometheus(binary, exporter_port, folder)
            except RuntimeError as exc:
                observed.prometheus_error = str(exc)
            else:
                launch_run(long_run, 1, training_config=long_training(tiny_llama, kv_dataset))
        observed.final, observed.annotations = _rescue(folder, runs, tiny_llama, kv_dataset)
        yield observed
    finally:
        if prometheus is not None:
            stop_run(long_run, 1)
            prometheus.terminate()
            prometheus.wait(timeout=30)
        exporter.shutdown()
