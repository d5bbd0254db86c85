"""Start a trainer-side process (a training attempt, a probe) detached, through a warm fork server.

``spawn(entry, args, log, env)`` returns the new process's pid. The process runs in a session of
its own with stdin closed and stdout and stderr appended to ``log`` — the same as
``python -m <entry> <args>`` started with ``start_new_session=True``, which is what it falls back to.
Through :mod:`openlora.trainer.forkserver` it starts in well under a second instead of the ~9 s of
imports a fresh interpreter pays on a 2-core machine.

One server per process that spawns, started on first use (or ahead, with :func:`prewarm`) with that
process's environment. Environment variables a library may read when it is imported (``HF_*``,
``TRANSFORMERS_*``, ``TORCH*``, ``CUDA_*``, ``OMP_*``, ``PYTHON*`` and the like) are part of the
server's identity: a request whose values differ gets a new server. ``OPENLORA_FORKSERVER=off`` turns
the server off; it is also left alone for good once it says it cannot fork safely (see the server).
The pid of a forked process is not a child of the caller: :func:`wait` and :func:`kill` work on any.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import psutil

IMPORT_TIME_PREFIXES = (
    "HF_",
    "HUGGINGFACE",
    "TRANSFORMERS",
    "TORCH",
    "PYTORCH",
    "CUDA",
    "NVIDIA",
    "OMP_",
    "MKL",
    "KMP_",
    "GOMP_",
    "OPENBLAS",
    "TOKENIZERS",
    "PYTHON",
    "LD_",
    "XDG_",
    "SAFETENSORS",
    "PEFT",
    "ACCELERATE",
)
IMPORT_TIME_NAMES = ("HOME", "PATH", "TMPDIR", "VIRTUAL_ENV")
READY_TIMEOUT_S = 300.0


def server_identity(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The variables of ``env`` that the server's imports may have read."""
    return tuple(
        sorted((k, v) for k, v in env.items() if k.startswith(IMPORT_TIME_PREFIXES) or k in IMPORT_TIME_NAMES)
    )


class _Server:
    """One running fork server and the pipe to it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.identity = server_identity(env)
        self.owner = os.getpid()  # a process forked from the owner must not share its pipe
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openlora.trainer.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            text=True,
        )
        self.ready: dict[str, Any] | None = None

    def _line(self, pipe: IO[str]) -> dict[str, Any]:
        line = pipe.readline()
        if not line:
            raise OSError("the fork server exited")
        return json.loads(line)

    def wait_ready(self) -> bool:
        """Whether the server is up and may fork (read once; later calls are free); OSError when it has
        not said so within :data:`READY_TIMEOUT_S` (its imports hung)."""
        if self.ready is None:
            assert self.proc.stdout is not None
            readable, _, _ = select.select([self.proc.stdout], [], [], READY_TIMEOUT_S)
            if not readable:
                raise OSError(f"the fork server was not ready within {READY_TIMEOUT_S:g} s")
            self.ready = self._line(self.proc.stdout)
        return bool(self.ready.get("forkable"))

    def fork(self, request: dict[str, Any]) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self._line(self.proc.stdout)
        if "pid" not in answer:
            raise OSError(str(answer.get("error", "no pid"))[:200])
        return int(answer["pid"])

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


_lock = threading.Lock()
_server: _Server | None = None
_unforkable: set[tuple[tuple[str, str], ...]] = set()


def _enabled(env: Mapping[str, str]) -> bool:
    return env.get("OPENLORA_FORKSERVER", "").lower() not in ("off", "0", "false", "no")


def _server_for(env: Mapping[str, str]) -> _Server | None:
    """The running server for ``env`` (started if need be), or None when none can serve it."""
    global _server
    identity = server_identity(env)
    if not _enabled(env) or identity in _unforkable:
        return None
    if _server is not None and _server.owner != os.getpid():
        _server = None  # inherited through a fork: the pipe belongs to the parent
    if _server is not None and (_server.identity != identity or _server.proc.poll() is not None):
        _server.close()
        _server = None
    if _server is None:
        _server = _Server(env)
    return _server


def prewarm(env: Mapping[str, str] | None = None) -> None:
    """Start the server now, so its imports overlap the caller's own work; never waits."""
    with _lock:
        try:
            _server_for(os.environ if env is None else env)
        except OSError:
            return


def _fork(entry: str, args: list[str], log: Path, env: Mapping[str, str]) -> int | None:
    global _server
    with _lock:
        try:
            server = _server_for(env)
            if server is None:
                return None
            if not server.wait_ready():
                _unforkable.add(server.identity)
                return None
            request = {"entry": entry, "args": args, "log": str(log), "env": dict(env), "cwd": os.getcwd()}
            return server.fork(request)
        except (OSError, ValueError):
            if _server is not None:
                _server.close()
                _server = None
            return None


def spawn(entry: str, args: list[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start ``python -m entry *args`` detached, its output appended to ``log``; its pid."""
    env = dict(os.environ if env is None else env)
    pid = _fork(entry, args, log, env)
    if pid is not None:
        return pid
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", entry, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    return proc.pid


def wait(pid: int, timeout_s: float | None = None) -> bool:
    """Wait for ``pid`` to end (a child of this process or not); False when ``timeout_s`` ran out."""
    try:
        psutil.Process(pid).wait(timeout=timeout_s)
    except psutil.TimeoutExpired:
        return False
    except psutil.NoSuchProcess:
        pass
    return True


def kill(pid: int) -> None:
    """SIGKILL ``pid``'s whole session (it leads one), ignoring one already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
