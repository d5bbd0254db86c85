"""A short pause between steps that the supervisor asks for while it decides, so the two share a CPU.

On a CPU-only machine the advisor (llama.cpp) and the trainer (torch) each keep threads that spin
while they wait; with more threads than cores both slow down far more than their share — measured on
this project's 2-core machine: a 9 s advisor decision took 120 s and SmolLM2 steps of 1 s took 37 s
while they overlapped. So while it decides on a live run that shares its cores, the supervisor
writes ``hold.json`` (``{"hold_id": "...", "until": <unix time>, "reason": "..."}``, atomically),
waits for the trainer to reach its next step boundary (a ``holding`` event with that ``hold_id`` in
``metrics.jsonl``: a step still running would overlap the decision), decides, and removes the file.
The trainer waits while the file is there, never past ``until`` nor past :data:`MAX_HOLD_S` (a
supervisor that dies mid-decision cannot stall the run), and a stop signal ends the wait; the end of
each wait is a ``held`` event with its seconds.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from openlora.trainer.rundir import read_json, write_json_atomic

MAX_HOLD_S = 120.0
POLL_S = 0.1


def request_hold(path: Path, seconds: float, reason: str) -> str:
    """Ask the trainer to wait at its next step boundary, for at most ``seconds``; the hold's id."""
    hold_id = uuid.uuid4().hex[:12]
    until = time.time() + min(seconds, MAX_HOLD_S)
    write_json_atomic(path, {"hold_id": hold_id, "until": until, "reason": reason[:200]})
    return hold_id


def release_hold(path: Path) -> None:
    """Let the trainer go on (what the agent calls when its decision is made)."""
    path.unlink(missing_ok=True)


def read_hold(path: Path) -> tuple[str, float] | None:
    """The hold in ``path`` (its id and end time), or None when there is none or it is unreadable."""
    if not path.exists():
        return None
    try:
        data = read_json(path)
        return str(data["hold_id"])[:64], float(data["until"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def wait_while_held(
    path: Path, stopped: Callable[[], bool], on_start: Callable[[str], None] = lambda _id: None
) -> float:
    """Wait while ``path`` asks for a hold (bounded as described above), calling ``on_start`` with its
    id first; the seconds waited."""
    held = read_hold(path)
    if held is None:
        return 0.0
    hold_id, until = held
    on_start(hold_id)
    began = time.monotonic()
    deadline = began + min(max(0.0, until - time.time()), MAX_HOLD_S)
    while time.monotonic() < deadline and path.exists() and not stopped():
        time.sleep(POLL_S)
    return time.monotonic() - began
