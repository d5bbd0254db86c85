"""Keeping library chatter off the console: model work in-process writes to the run's log instead.

For: one context manager, :func:`quiet_libraries`, around the model work that runs inside the
supervising process (evaluation, export with its GGUF checks, the playground). While it is open,
transformers' and huggingface_hub's progress bars ("Loading weights") and transformers'
GGUF dequantization bar ("Converting and de-quantizing GGUF tensors…") are off, transformers'
log records and the Python warnings raised from library code (FutureWarning, UserWarning…) go to
the given log file (the run's ``trainer.log``) rather than to the console; everything is restored
when it closes. And :func:`quiet_stderr`, which parks file descriptor 2 on /dev/null while
llama.cpp loads a model (its C code logs there even with ``verbose=False``). Not for: our own
errors — exceptions pass through unchanged, and warnings raised from ``openlora`` code still reach
the console — nor the trainer subprocess, whose whole output already goes to ``trainer.log``.
The switches :func:`quiet_libraries` turns are process-wide, so two threads that open it at once
may restore each other's settings early; the supervisor runs these steps one at a time.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

# The folder holding openlora's packages (``trainer/``, ``evaluation/``…): warnings raised there are ours.
_OWN_ROOT = Path(__file__).resolve().parents[1]


class _LibraryLog:
    """Appends library output to ``path`` (opened on first use); without a path it is dropped."""

    def __init__(self, path: Path | None, step: str) -> None:
        self.path = path
        self.step = step
        self._handle: TextIO | None = None

    def write(self, text: str) -> None:
        if self.path is None:
            return
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._handle.write(f"[{stamp} {self.step}] {text.rstrip()}\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _LogHandler(logging.Handler):
    def __init__(self, log: _LibraryLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.log.write(f"{record.name}: {record.levelname}: {record.getMessage()}")
        except Exception:
            self.handleError(record)


def _is_own(filename: str) -> bool:
    """True for a warning attributed to openlora's own code (not to a library it calls)."""
    try:
        inside = Path(filename).resolve().relative_to(_OWN_ROOT)
    except (ValueError, OSError):
        return False
    return "site-packages" not in inside.parts


@contextlib.contextmanager
def _warnings_to(log: _LibraryLog) -> Iterator[None]:
    """Library warnings go to ``log``; openlora's own keep going where they went before."""
    previous = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if _is_own(filename):
            previous(message, category, filename, lineno, file, line)
        else:
            log.write(f"{category.__name__}: {message} ({filename}:{lineno})")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


@contextlib.contextmanager
def _transformers_quiet(log: _LibraryLog) -> Iterator[None]:
    """transformers (and huggingface_hub) bars off, its log records to ``log``; then as they were."""
    try:
        from huggingface_hub.utils import (
            are_progress_bars_disabled,
            disable_progress_bars,
            enable_progress_bars,
        )
        from transformers.utils import logging as hf_logging
    except ImportError:  # transformers is a dependency; without it there is nothing to quiet
        yield
        return
    bars_on, hub_bars_off = hf_logging.is_progress_bar_enabled(), are_progress_bars_disabled()
    verbosity = hf_logging.get_verbosity()
    handler = _LogHandler(log)
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_warning()
    hf_logging.disable_default_handler()
    hf_logging.add_handler(handler)
    try:
        with _gguf_bar_off():
            yield
    finally:
        hf_logging.remove_handler(handler)
        hf_logging.enable_default_handler()
        hf_logging.set_verbosity(verbosity)
        if bars_on:
            hf_logging.enable_progress_bar()  # turns huggingface_hub's bars back on as well
        if hub_bars_off:
            disable_progress_bars()
        elif are_progress_bars_disabled():
            enable_progress_bars()


@contextlib.contextmanager
def _gguf_bar_off() -> Iterator[None]:
    """transformers draws the dequantization bar with plain tqdm, which its switch does not reach."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    original: Any = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


@contextlib.contextmanager
def quiet_libraries(log: Path | None = None, step: str = "library") -> Iterator[None]:
    """Library bars off and library warnings / log records to ``log`` (dropped when it is None)."""
    sink = _LibraryLog(log, step)
    try:
        with _warnings_to(sink), _transformers_quiet(sink):
            yield
    finally:
        sink.close()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """llama.cpp prints its load log on fd 2 even with verbose=False; keep test and CLI output clean."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
