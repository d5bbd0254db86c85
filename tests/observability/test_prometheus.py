"""A real Prometheus (Debian's package; .ci/run installs it) scrapes the exporter during real runs,
and every PromQL expression of the Grafana dashboard returns data through Prometheus's HTTP API."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "openlora.json"


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


def _scrape_health(api: str) -> dict:
    """How the scrapes went over the last 10 minutes (for a failure's message)."""
    health = {}
    for name, expr in {
        "scrapes": "count_over_time(up[10m])",
        "failed": "count_over_time((up == 0)[10m:1s])",
        "slowest_s": "max_over_time(scrape_duration_seconds[10m])",
    }.items():
        result = _get(f"{api}/api/v1/query?query={urllib.parse.quote(expr)}")["data"]["result"]
        health[name] = result[0]["value"][1] if result else None
    return health


@pytest.fixture
def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("OPENLORA_REQUIRE_PROMETHEUS"):
            pytest.fail("prometheus is not installed (.ci/run installs Debian's package)")
        pytest.skip("prometheus is not installed here; .ci/run installs it")
    return binary


@pytest.mark.long  # the shared rescue in conftest.py: some 25 s
def test_every_dashboard_expression_returns_data(prometheus_binary, observed_rescue):
    """Prometheus scraped the exporter while a long training run stayed alive (live trainer CPU and
    throughput) and a supervised goal was rescued meanwhile (NaN → decision → relaunch → success);
    the run, the long training and Prometheus are in conftest.py, shared with the Grafana test."""
    import torch

    assert observed_rescue.prometheus_error is None, observed_rescue.prometheus_error
    api = observed_rescue.prometheus_api
    assert observed_rescue.final.outcome == "success"
    time.sleep(4)  # a few more scrapes
    empty = []
    for expr in dashboard_expressions(with_gpu=torch.cuda.is_available()):
        answer = _get(f"{api}/api/v1/query?query={urllib.parse.quote(expr)}")
        assert answer["status"] == "success", expr
        if not answer["data"]["result"]:
            empty.append(expr)
    assert not empty, f"no data for: {empty}; scrapes: {_scrape_health(api)}"
    targets = _get(f"{api}/api/v1/targets")["data"]["activeTargets"]
    assert targets and all(t["health"] == "up" for t in targets)
