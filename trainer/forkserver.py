"""``python -m openlora.trainer.forkserver``: a process that has imported the trainer once and forks it.

A trainer process spends most of its start importing torch, transformers and peft: about 9 s on this
project's 2-core machine, against 1.3 s of training for a 60-step tiny run. The fork server pays
that once: it imports them, then, for each request, forks a child that is the trainer from its first
line of work. It is started and spoken to by :mod:`openlora.trainer.spawner`, which falls back to a
plain ``python -m`` process whenever the server cannot be used.

Protocol, JSON lines: the server writes ``{"ready": true, "forkable": bool, "why": str}`` once its
imports are done; then each request on stdin, ``{"entry": "openlora.trainer", "args": [...],
"log": PATH, "env": {...}, "cwd": PATH}``, is answered ``{"pid": N}`` (once the child leads its own
session and writes to ``log``) or ``{"error": "..."}``. It exits when stdin closes (the process that
started it ended). A child starts a session of its own
(the trainer outlives the supervisor, as a ``start_new_session`` process does), writes stdout and
stderr to ``log``, runs with exactly ``env`` and ``cwd``, and calls the entry's ``main(args)``.

Forking is refused (``forkable: false``) when a Python thread is running or a CUDA driver is loaded:
a child of such a process could deadlock or fail to initialise CUDA. Only the entries in
:data:`ENTRIES` run. Children are reaped by the kernel (SIGCHLD ignored), so none become zombies.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
import traceback
from typing import Any

ENTRIES = {
    "openlora.trainer": "openlora.trainer.main",
    "openlora.trainer.memory_probe": "openlora.trainer.memory_probe",
    "openlora.trainer.lr_probe": "openlora.trainer.lr_probe",
}
PRELOAD = (
    "torch",
    "transformers",
    "transformers.models.llama.modeling_llama",
    "peft",
    "openlora.trainer.recipe",
    *ENTRIES.values(),
)


def fork_blocker() -> str:
    """Why forking this process would be unsafe, or '' when it is safe."""
    if threading.active_count() > 1:
        return f"{threading.active_count()} Python threads are running"
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            if "libcuda.so" in maps.read():
                return "a CUDA driver is loaded"
    except OSError:
        return "cannot read /proc/self/maps"
    return ""


def _run_child(request: dict[str, Any], detached: int) -> None:
    """In the forked child: become the trainer of ``request`` and never return; a byte is written to
    the ``detached`` pipe once it leads its own session and writes to its log."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        os.write(detached, b"1")
        os.close(detached)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        entry = importlib.import_module(ENTRIES[request["entry"]])
        sys.argv = [request["entry"], *request["args"]]
        code = int(entry.main(list(request["args"])) or 0)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _serve_one(line: str) -> None:
    try:
        request = json.loads(line)
        if request.get("entry") not in ENTRIES:
            raise ValueError(f"unknown entry {str(request.get('entry'))[:80]!r}")
        for key, kind in (("args", list), ("log", str), ("env", dict), ("cwd", str)):
            if not isinstance(request.get(key), kind):
                raise ValueError(f"{key} must be a {kind.__name__}")
    except (ValueError, AttributeError) as exc:
        _answer({"error": str(exc)})
        return
    blocker = fork_blocker()
    if blocker:
        _answer({"error": blocker})
        return
    sys.stdout.flush()
    sys.stderr.flush()
    detached_read, detached_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(detached_read)
        _run_child(request, detached_write)
    os.close(detached_write)
    os.read(detached_read, 1)  # b"" if it died first; either way its pid is the answer
    os.close(detached_read)
    _answer({"pid": pid})


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # it ends when its starter does (stdin closes)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    for name in PRELOAD:
        importlib.import_module(name)
    blocker = fork_blocker()
    _answer({"ready": True, "forkable": not blocker, "why": blocker})
    for line in sys.stdin:
        if line.strip():
            _serve_one(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
