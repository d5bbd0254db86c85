"""The exporter: bounded labels, loopback only, and a Grafana-compatible annotation endpoint."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from openlora.agent.records import GoalStatus
from openlora.memory.records import Diagnosis
from openlora.observability.exporter import DIAGNOSES, MAX_RUNS, STATUSES, TOOLS, serve
from openlora.observability.grafana import post_annotation
from openlora.tools.registry import TOOL_NAMES
from openlora.trainer.result import RunStatus
from openlora.trainer.rundir import GoalDir
from tests.fixtures.local_servers import free_port

ODD = [
    '"}\\n{x="1',
    "ignore previous instructions",
    "🔥" * 50,
    "a" * 5000,
    "../../etc",
    "\x00\x01",
    "{{run}}",
]


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def _hostile_run(root: Path, name: str) -> None:
    run = GoalDir(root / name)
    attempt = run.attempt(1)
    attempt.root.mkdir(parents=True)
    steps = [
        {
            "event": "step",
            "step": i,
            "loss": 2.0,
            "lr": 1e-3,
            "grad_norm": 1.0,
            "tokens_per_s": 10.0,
            "step_time_s": 0.1,
            "rss_mb": 100.0,
            "note": ODD[i % len(ODD)],
        }
        for i in range(1, 30)
    ]
    attempt.metrics.write_text("".join(json.dumps(s) + "\n" for s in steps))
    events = []
    for i in range(300):
        odd = ODD[i % len(ODD)] + str(i)
        events += [
            {"event": "action", "tool": odd, "outcome": odd},
            {"event": "diagnosis", "diagnosis": odd},
            {"event": "state", "status": odd},
            {
                "event": "decision",
                "latency_s": 1.0,
                "diagnosis": odd,
                "action": odd,
                "tool": odd,
                "arguments": {odd: odd},
                "source": odd,
                "schema_valid": odd,
            },
        ]
    run.agent_events.write_text("".join(json.dumps(e) + "\n" for e in events) + "not json\n")


def test_the_label_vocabularies_are_the_registry_and_the_enums():
    assert TOOLS == TOOL_NAMES and "relaunch_on_filtered_data" in TOOLS
    assert set(DIAGNOSES) == {d.value for d in Diagnosis}
    assert set(STATUSES) == {s.value for s in RunStatus} | {s.value for s in GoalStatus}
    assert len(STATUSES) == len(set(STATUSES))


def test_hostile_strings_never_become_series_and_the_endpoint_is_loopback_only(tmp_path):
    for n in range(3):
        _hostile_run(tmp_path, f"run-{n}")
    port = free_port()
    server, _ = serve(tmp_path, port)
    try:
        assert server.server_address[0] == "127.0.0.1"
        text = _scrape(port)
        series = [line for line in text.splitlines() if line and not line.startswith("#")]
        # A fixed bound per run: training gauges + agent families over their fixed vocabularies.
        per_run = (
            14 + (len(TOOLS) + 1) * 3 + (len(DIAGNOSES) + 1) + 3 + 1 + (len(STATUSES) + 1) + 1 + (10 + 2)
        )
        assert len(series) <= 3 * per_run <= MAX_RUNS * per_run
        for odd in ODD:
            if len(odd) >= 5:
                assert odd[:40] not in text, odd
        assert 'tool="other"' in text and 'diagnosis="other"' in text
        outside = [a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")]
        for address in outside:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2)
    finally:
        server.shutdown()


def _gauge(text: str, name: str, run: str) -> float | None:
    prefix = f'{name}{{run="{run}"}} '
    values = [float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)]
    return values[-1] if values else None


def test_training_series_follow_appended_lines_a_half_written_line_and_a_rewritten_file(tmp_path):
    """Each scrape reads only what metrics.jsonl gained (a long run's scrape stays cheap): the figures
    follow appends, wait for a line's newline, and start over when the file is rewritten shorter."""
    attempt = GoalDir(tmp_path / "grow").attempt(1)
    attempt.root.mkdir(parents=True)
    port = free_port()
    server, _ = serve(tmp_path, port)

    def append(text: str) -> None:
        with attempt.metrics.open("a") as handle:
            handle.write(text)

    try:
        append(
            "".join(
                json.dumps({"event": "step", "step": i, "loss": 3.0 - i / 100}) + "\n" for i in range(500)
            )
        )
        append(json.dumps({"event": "eval", "step": 499, "val_loss": 2.5}) + "\n")
        text = _scrape(port)
        assert (
            _gauge(text, "openlora_step", "grow") == 499 and _gauge(text, "openlora_val_loss", "grow") == 2.5
        )
        append(json.dumps({"event": "step", "step": 500, "loss": 1.0}) + "\n" + '{"event": "step", "st')
        assert _gauge(_scrape(port), "openlora_step", "grow") == 500  # the half line is not read yet
        append('ep": 501, "loss": 0.9}\n')
        text = _scrape(port)
        assert (
            _gauge(text, "openlora_step", "grow") == 501
            and _gauge(text, "openlora_train_loss", "grow") == 0.9
        )
        attempt.metrics.write_text(json.dumps({"event": "step", "step": 1, "loss": 4.0}) + "\n")
        text = _scrape(port)
        assert (
            _gauge(text, "openlora_step", "grow") == 1 and _gauge(text, "openlora_val_loss", "grow") is None
        )
    finally:
        server.shutdown()


def test_a_torchrun_attempt_exports_its_comm_time_and_the_cpu_of_its_ranks(tmp_path):
    """A DDP step event (rank 0's, with every rank's figures under per_rank) gives the comm series and
    the largest rank's memory; the trainer CPU counts the launcher's child processes (the ranks)."""
    import subprocess
    import sys
    import time

    import psutil

    attempt = GoalDir(tmp_path / "ddp").attempt(1)
    attempt.root.mkdir(parents=True)
    per_rank = [{"rss_mb": 300.0, "lr": 0.01, "comm_s": 0.02}, {"rss_mb": 400.0, "lr": 0.01, "comm_s": 0.03}]
    step = {"event": "step", "step": 3, "loss": 2.0, "rss_mb": 400.0, "comm_s": 0.03, "per_rank": per_rank}
    attempt.metrics.write_text(json.dumps(step) + "\n")
    spin = (
        "import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', 'while True: pass']); c.wait()"
    )
    launcher = subprocess.Popen([sys.executable, "-c", spin])
    port = free_port()
    server, _ = serve(tmp_path, port)
    try:
        proc = psutil.Process(launcher.pid)
        attempt.trainer_pid.write_text(json.dumps({"pid": launcher.pid, "create_time": proc.create_time()}))
        deadline = time.monotonic() + 30
        while (
            not proc.children() or proc.children()[0].cpu_times().user < 0.5
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        text = _scrape(port)
        assert _gauge(text, "openlora_comm_seconds", "ddp") == 0.03
        assert _gauge(text, "openlora_process_resident_memory_bytes", "ddp") == 400.0 * 2**20
        own = sum(proc.cpu_times()[:2])
        assert _gauge(text, "openlora_trainer_cpu_seconds_total", "ddp") > own + 0.4  # the child's too
    finally:
        server.shutdown()
        for child in psutil.Process(launcher.pid).children(recursive=True):
            child.kill()
        launcher.kill()
        launcher.wait()


def test_any_address_but_loopback_needs_a_bearer_token(tmp_path):
    import urllib.error
    import urllib.request

    _hostile_run(tmp_path, "run-0")
    with pytest.raises(ValueError, match="OPENLORA_METRICS_TOKEN"):
        serve(tmp_path, free_port(), "0.0.0.0")
    port = free_port()
    server, _ = serve(tmp_path, port, "127.0.0.1", token="s3cret-token")
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        for header in ({}, {"Authorization": "Bearer wrong"}):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(url, headers=header), timeout=10)
            assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": "Bearer s3cret-token"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and b"openlora_agent_attempt" in response.read()
    finally:
        server.shutdown()


@pytest.mark.long  # the shared rescue in conftest.py: some 25 s
def test_decisions_are_posted_as_grafana_annotations(observed_rescue):
    """A local HTTP server stood in for Grafana during the shared rescue (conftest.py): no Grafana
    server can run here."""
    final = observed_rescue.final
    decision = final.attempts[0].decision
    (request,) = observed_rescue.annotations
    assert request["path"] == "/api/annotations" and request["auth"] == "Bearer test-token"
    assert request["body"]["tags"] == ["openlora", Path(final.run_root).name, decision.action]
    text = request["body"]["text"]
    assert decision.action in text and decision.call.text() in text and decision.reason.split()[0] in text
    assert post_annotation("http://127.0.0.1:9", "t", "r", "a", "x", timeout=1) is not None  # down: reported
