"""Prometheus exporter over run folders: training series from ``metrics.jsonl``, agent series from
``agent_events.jsonl``, computed on each scrape (``metrics.jsonl`` read incrementally, from where the
previous scrape stopped, so a scrape stays fast on a run of a million steps).

Labels are bounded by construction: ``run`` is a run folder name (at most MAX_RUNS runs, the most
recently changed), ``tool``/``diagnosis``/``status``/``outcome`` are mapped onto fixed vocabularies
(anything else becomes ``other``): the tool registry's names, the memory's diagnoses, the trainer's
run statuses with the supervisor's goal statuses. No dataset text, tool argument or advisor output
ever becomes a label (a decision's ``arguments`` and ``source`` are not read). Counters
are recomputed from the append-only files, so they survive exporter restarts. It binds 127.0.0.1
unless told otherwise, and any other address requires a bearer token (``OPENLORA_METRICS_TOKEN``).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import psutil
from prometheus_client import CollectorRegistry, make_wsgi_app, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.registry import Collector

from openlora.agent.records import GoalStatus
from openlora.memory.records import Diagnosis
from openlora.tools.registry import TOOL_NAMES
from openlora.trainer.result import RunStatus
from openlora.trainer.rundir import ATTEMPT_PREFIX, GoalDir, RunDir, latest_attempt
from openlora.trainer.tail import JsonlTail

MAX_RUNS = 50
# The label vocabularies are the registry's and the enums' own, so a new tool or status is a new label.
TOOLS: tuple[str, ...] = TOOL_NAMES
DIAGNOSES: tuple[str, ...] = tuple(d.value for d in Diagnosis)
STATUSES: tuple[str, ...] = tuple(
    dict.fromkeys([*(s.value for s in RunStatus), *(s.value for s in GoalStatus)])
)
OUTCOMES = ("ok", "error")
LATENCY_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
_RUN_ID = re.compile(r"[^A-Za-z0-9_.-]")

TRAINING = {  # step-event field → (metric, help, scale)
    "loss": ("openlora_train_loss", "Training loss of the latest step", 1.0),
    "grad_norm": ("openlora_grad_norm", "Gradient norm of the latest step", 1.0),
    "lr": ("openlora_learning_rate", "Learning rate of the latest step", 1.0),
    "tokens_per_s": ("openlora_tokens_per_second", "Training throughput, real tokens per second", 1.0),
    "step": ("openlora_step", "Latest optimizer step", 1.0),
    "step_time_s": ("openlora_step_time_seconds", "Duration of the latest step", 1.0),
    "epoch": ("openlora_epoch_progress", "Epochs completed (fractional)", 1.0),
    "rss_mb": ("openlora_process_resident_memory_bytes", "Trainer resident memory", 2**20),
    "gpu_util_pct": ("openlora_gpu_utilization_ratio", "GPU utilisation (0-1)", 0.01),
    "gpu_mem_used_mb": ("openlora_gpu_memory_used_bytes", "GPU memory used", 2**20),
    "gpu_temp_c": ("openlora_gpu_temperature_celsius", "GPU temperature", 1.0),
    "gpu_power_w": ("openlora_gpu_power_watts", "GPU power draw", 1.0),
    "comm_s": ("openlora_comm_seconds", "Seconds in collectives since the previous step event (DDP)", 1.0),
}


def bounded(value: Any, allowed: tuple[str, ...]) -> str:
    return value if isinstance(value, str) and value in allowed else "other"


def run_label(folder: Path) -> str:
    return _RUN_ID.sub("_", folder.name)[:64]


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                yield item


class _LatestTraining:
    """The latest step event and validation loss of one ``metrics.jsonl``, read incrementally: a scrape
    reads only the lines appended since the previous one, so its cost does not grow with a long run."""

    def __init__(self, path: Path) -> None:
        self.tail = JsonlTail(path)
        self.restarts = 0
        self.step: dict[str, Any] = {}
        self.val_loss: float | None = None

    def refresh(self) -> None:
        events = self.tail.read_new()
        if self.tail.restarts != self.restarts:  # the file was rewritten: what was folded is stale
            self.restarts, self.step, self.val_loss = self.tail.restarts, {}, None
        for event in events:
            if event.get("event") == "step":
                self.step = event
            elif event.get("event") == "eval" and isinstance(event.get("val_loss"), (int, float)):
                self.val_loss = float(event["val_loss"])


class RunsCollector(Collector):
    """Reads every run folder under ``runs_root`` at scrape time (training files incrementally)."""

    def __init__(self, runs_root: Path) -> None:
        self.runs_root = runs_root
        self._training: dict[Path, _LatestTraining] = {}
        self._lock = threading.Lock()  # two scrapes at once must not read one tail twice

    def _latest_training(self, metrics: Path) -> _LatestTraining:
        latest = self._training.get(metrics)
        if latest is None:
            latest = self._training[metrics] = _LatestTraining(metrics)
        latest.refresh()
        return latest

    def runs(self) -> list[Path]:
        if not self.runs_root.is_dir():
            return []
        folders = [
            p
            for p in self.runs_root.iterdir()
            if p.is_dir()
            and (
                RunDir(p).metrics.exists()
                or GoalDir(p).agent_events.exists()
                or any(p.glob(f"{ATTEMPT_PREFIX}*"))
            )
        ]
        return sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)[:MAX_RUNS]

    def collect(self) -> Iterator[Any]:
        with self._lock:
            families = self._families()
        yield from families

    def _families(self) -> list[Any]:
        gauges = {
            field: GaugeMetricFamily(name, help_, labels=["run"])
            for field, (name, help_, _) in TRAINING.items()
        }
        val_loss = GaugeMetricFamily("openlora_val_loss", "Latest validation loss", labels=["run"])
        cpu = CounterMetricFamily(
            "openlora_trainer_cpu_seconds", "CPU time of the live trainer process", labels=["run"]
        )
        agent = _agent_families()
        seen: set[Path] = set()
        for run in self.runs():
            label = run_label(run)
            attempt_dir = latest_attempt(run) or run
            metrics = RunDir(attempt_dir).metrics
            seen.add(metrics)
            latest = self._latest_training(metrics)
            for field, (_, _, scale) in TRAINING.items():
                if isinstance(latest.step.get(field), (int, float)):
                    gauges[field].add_metric([label], float(latest.step[field]) * scale)
            if latest.val_loss is not None:
                val_loss.add_metric([label], latest.val_loss)
            cpu_seconds = _trainer_cpu(attempt_dir)
            if cpu_seconds is not None:
                cpu.add_metric([label], cpu_seconds)
            self._agent(run, label, agent)
        for gone in set(self._training) - seen:  # runs beyond MAX_RUNS, earlier attempts, removed folders
            del self._training[gone]
        return [*gauges.values(), val_loss, cpu, *agent.values()]

    @staticmethod
    def _agent(run: Path, label: str, families: dict[str, Any]) -> None:
        events = list(_lines(GoalDir(run).agent_events))
        if not events:
            return
        actions, diagnoses, relaunches = families["actions"], families["diagnoses"], families["relaunches"]
        patches, memory_hits, attempt = families["patches"], families["memory_hits"], families["attempt"]
        state, recovery, latency = families["state"], families["recovery"], families["latency"]
        action_counts = Counter(
            (bounded(e.get("tool"), TOOLS), bounded(e.get("outcome"), OUTCOMES))
            for e in events
            if e.get("event") == "action"
        )
        for tool in (*TOOLS, "other"):
            for outcome in (*OUTCOMES, "other"):
                actions.add_metric([label, tool, outcome], float(action_counts.get((tool, outcome), 0)))
        diagnosis_counts = Counter(
            bounded(e.get("diagnosis"), DIAGNOSES) for e in events if e.get("event") == "diagnosis"
        )
        for diagnosis, count in diagnosis_counts.items():
            diagnoses.add_metric([label, diagnosis], float(count))
        relaunches.add_metric([label], float(sum(e.get("event") == "relaunch" for e in events)))
        patches.add_metric([label], float(sum(e.get("event") == "patch" for e in events)))
        memory_hits.add_metric(
            [label], float(sum(int(e.get("hits", 0)) for e in events if e.get("event") == "memory"))
        )
        numbers = [e.get("attempt") for e in events if isinstance(e.get("attempt"), int)]
        if numbers:
            attempt.add_metric([label], float(max(numbers)))
        states = [e for e in events if e.get("event") == "state"]
        current = bounded(states[-1].get("status"), STATUSES) if states else "running"
        for status in (*STATUSES, "other"):
            state.add_metric([label, status], 1.0 if status == current else 0.0)
        recoveries = [
            e["seconds"]
            for e in events
            if e.get("event") == "recovered" and isinstance(e.get("seconds"), (int, float))
        ]
        if recoveries:
            recovery.add_metric([label], float(recoveries[-1]))
        values = [
            float(e["latency_s"])
            for e in events
            if e.get("event") == "decision" and isinstance(e.get("latency_s"), (int, float))
        ]
        buckets = [(str(b), float(sum(v <= b for v in values))) for b in LATENCY_BUCKETS]
        latency.add_metric([label], [*buckets, ("+Inf", float(len(values)))], sum_value=sum(values))


def _agent_families() -> dict[str, Any]:
    """Empty metric families of the agent series, keyed by short name."""
    return {
        "actions": CounterMetricFamily(
            "openlora_agent_actions", "Agent tool calls", labels=["run", "tool", "outcome"]
        ),
        "diagnoses": CounterMetricFamily(
            "openlora_agent_diagnoses", "Diagnoses made", labels=["run", "diagnosis"]
        ),
        "relaunches": CounterMetricFamily("openlora_agent_relaunches", "Relaunches", labels=["run"]),
        "patches": CounterMetricFamily(
            "openlora_agent_patches_applied", "Live patches applied", labels=["run"]
        ),
        "memory_hits": CounterMetricFamily("openlora_agent_memory_hits", "Memory hits used", labels=["run"]),
        "attempt": GaugeMetricFamily("openlora_agent_attempt", "Current attempt number", labels=["run"]),
        "state": GaugeMetricFamily(
            "openlora_agent_run_state", "1 for the run's current state", labels=["run", "status"]
        ),
        "recovery": GaugeMetricFamily(
            "openlora_agent_time_to_recovery_seconds",
            "Seconds from the last incident to the next healthy attempt",
            labels=["run"],
        ),
        "latency": HistogramMetricFamily(
            "openlora_advisor_decision_latency_seconds", "Advisor decision latency", labels=["run"]
        ),
    }


def _trainer_cpu(attempt_dir: Path) -> float | None:
    try:
        info = json.loads(RunDir(attempt_dir).trainer_pid.read_text())
        proc = psutil.Process(info["pid"])
        if abs(proc.create_time() - info["create_time"]) > 1:
            return None
        total = 0.0
        for process in (proc, *proc.children(recursive=True)):  # a torchrun launcher's ranks too
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total
    except (FileNotFoundError, ValueError, KeyError, psutil.Error):
        return None


TOKEN_ENV = "OPENLORA_METRICS_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_required(app: Callable[..., Any], token: str) -> Callable[..., Any]:
    """The WSGI app behind ``Authorization: Bearer <token>`` (compared in constant time)."""
    expected = f"Bearer {token}".encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, expected):
            start_response(
                "401 Unauthorized", [("WWW-Authenticate", "Bearer"), ("Content-Type", "text/plain")]
            )
            return [b"a bearer token is required\n"]
        return app(environ, start_response)

    return guarded


def serve(
    runs_root: Path, port: int = 9464, host: str = "127.0.0.1", token: str | None = None
) -> tuple[Any, threading.Thread]:
    """Start the exporter in a daemon thread; returns (server, thread). Call ``server.shutdown()`` to stop.

    Loopback needs nothing; any other address needs ``token`` (scrapers send it as a bearer token),
    and every request without it gets 401.
    """
    registry = CollectorRegistry()
    registry.register(RunsCollector(runs_root))
    if token is None and not is_loopback(host):
        raise ValueError(
            f"binding {host} exposes the metrics beyond this machine: set {TOKEN_ENV} (Prometheus sends it "
            "with `authorization: {credentials: ...}`), or bind 127.0.0.1"
        )
    if token is None:
        return start_http_server(port, addr=host, registry=registry)
    app = _token_required(make_wsgi_app(registry), token)
    httpd = make_server(host, port, app, ThreadingWSGIServer, handler_class=_SilentHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread
