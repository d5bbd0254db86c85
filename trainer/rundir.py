"""The run directory contract: file names, atomic writes and the JSON records in it.

A run directory is the only interface between the trainer and everything else (agent, CLI,
exporter, TUI). This module names its files and writes them atomically (write, fsync, rename);
it knows nothing about models or training.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "spec.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def control(self) -> Path:
        return self.root / "control.json"

    @property
    def hold(self) -> Path:
        """A pause the supervisor asks for while it decides (see ``trainer.hold``)."""
        return self.root / "hold.json"

    @property
    def result(self) -> Path:
        return self.root / "result.json"

    def rank_result(self, rank: int) -> Path:
        """How rank ``rank`` (> 0) of a torchrun run ended when it failed (``ddp_launch`` merges it)."""
        return self.root / f"rank-{rank}.result.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def adapter(self) -> Path:
        return self.exports / "adapter"

    @property
    def manifest(self) -> Path:
        """What ``exports/`` holds: every format's files with sizes, hashes and check figures."""
        return self.exports / MANIFEST_FILE

    @property
    def evaluation(self) -> Path:
        """``openlora-agent eval``'s reports (``report.json``, ``report.md``)."""
        return self.root / "eval"

    @property
    def evaluation_json(self) -> Path:
        return self.evaluation / "report.json"

    @property
    def evaluation_md(self) -> Path:
        return self.evaluation / "report.md"

    @property
    def trainer_log(self) -> Path:
        """stdout and stderr of the trainer subprocess (library output included)."""
        return self.root / "trainer.log"

    @property
    def trainer_pid(self) -> Path:
        """pid and start time of the live trainer (see ``tools.launch_run``)."""
        return self.root / "trainer.pid"

    def is_run(self) -> bool:
        """True once ``spec.json`` is written (the folder holds a run, planned or trained)."""
        return self.spec.is_file()


ATTEMPT_PREFIX = "attempt-"


@dataclass(frozen=True)
class GoalDir:
    """Paths inside one supervised run (``runs/<goal>-<time>/``): its attempts and the agent's files."""

    root: Path

    def attempt(self, number: int) -> RunDir:
        """The run folder of attempt ``number`` (``attempt-N``)."""
        return RunDir(self.root / f"{ATTEMPT_PREFIX}{number}")

    @property
    def agent_events(self) -> Path:
        """What the supervisor did, one JSON line each (enums, ids and numbers only)."""
        return self.root / "agent_events.jsonl"

    @property
    def agent_state(self) -> Path:
        """The LangGraph checkpoint database (``--resume`` continues from it)."""
        return self.root / "agent.sqlite"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def report_json(self) -> Path:
        return self.root / "report.json"

    @property
    def loss_plot(self) -> Path:
        return self.root / "loss.png"

    @property
    def lr_probe(self) -> RunDir:
        """The run folder of the learning-rate range test made before attempt 1."""
        return RunDir(self.root / "lr-probe")

    @property
    def memory_probe(self) -> RunDir:
        """The run folder of the memory probe (the largest micro-batch that fits) made before attempt 1."""
        return self.memory_probe_after(0)

    def memory_probe_after(self, attempt: int) -> RunDir:
        """The memory probe made after attempt ``attempt`` ran out of memory (0: before attempt 1)."""
        return RunDir(self.root / ("memory-probe" if attempt == 0 else f"memory-probe-after-{attempt}"))

    def length_probe_after(self, attempt: int) -> RunDir:
        """The probe of sequence lengths at batch 1, made after attempt ``attempt`` ran out of memory
        when not even one whole sequence fitted."""
        return RunDir(self.root / f"length-probe-after-{attempt}")

    @property
    def data(self) -> Path:
        """Datasets the supervisor derives (filtered, synthesized); nothing is written elsewhere."""
        return self.root / "data"

    @property
    def approval_request(self) -> Path:
        """The proposal waiting for a person (``approval: ask``), written atomically by the supervisor."""
        return self.root / "approval.json"

    def approval_verdict(self, request_id: str) -> Path:
        """The answer to request ``request_id``: created once, by whichever front answers first."""
        return self.root / "approvals" / f"verdict-{request_id}.json"

    @property
    def supervisor_log(self) -> Path:
        """What the supervisor process printed (its timeline lines), when a front started it."""
        return self.root / "supervisor.log"

    @property
    def supervisor_pid(self) -> Path:
        """The process id of the supervisor a front started (``openlora-agent run``)."""
        return self.root / "supervisor.pid"


def unique_run_dir(parent: Path, name: str) -> Path:
    """``parent/<name>-<YYYYmmdd-HHMMSS>``, with a numeric suffix if that exists already."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = parent / f"{name}-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = parent / f"{name}-{stamp}-{suffix}"
    return candidate


def attempt_numbers(run_root: Path) -> list[int]:
    """The numbers of a supervised run's ``attempt-N`` folders, in order."""
    numbers = [p.name.removeprefix(ATTEMPT_PREFIX) for p in run_root.glob(f"{ATTEMPT_PREFIX}*")]
    return sorted(int(n) for n in numbers if n.isdigit())


def latest_attempt(run_root: Path) -> Path | None:
    """The highest-numbered ``attempt-N`` folder of a supervised run, or None before the first one."""
    numbers = attempt_numbers(run_root)
    return GoalDir(run_root).attempt(numbers[-1]).root if numbers else None


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def json_safe(value: Any) -> Any:
    """Replace non-finite floats (which JSON cannot hold) by the strings "nan", "inf", "-inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` so readers see the old file or the new one, never half (write, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        fsync_dir(path.parent)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically; non-finite floats are written as strings (see :func:`json_safe`)."""
    write_text_atomic(path, json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_jsonl_atomic(path: Path, rows: Iterable[Any]) -> None:
    """Write one JSON object a line, atomically (datasets the agent and the CLI produce)."""
    write_text_atomic(path, "".join(json.dumps(row) + "\n" for row in rows))


def read_json(path: Path) -> Any:
    """Read a JSON file; raises FileNotFoundError or ValueError naming the file."""
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def read_events(path: Path) -> list[dict[str, Any]]:
    """Read ``metrics.jsonl``; a torn last line (crash mid-write) is skipped, not an error."""
    events: list[dict[str, Any]] = []
    if not path.exists():
        return events
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def loss_trace(path: Path) -> dict[int, float]:
    """Step → loss as the run finally saw it (NaN where not finite); later events win after a resume."""
    trace: dict[int, float] = {}
    for event in read_events(path):
        if event.get("event") == "step":
            loss = event.get("loss")
            trace[int(event["step"])] = float(loss) if loss is not None else math.nan
    return trace


def run_start(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's ``run_start`` event (device, threads, total steps, dataset statistics), or {} before it."""
    return next((e for e in events if e.get("event") == "run_start"), {})
