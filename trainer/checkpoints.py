"""Atomic checkpoints: commit, verify, find the newest complete one, prune old ones.

A checkpoint is written into a staging folder, every file is fsynced, a ``COMPLETE`` marker with
the SHA-256 of each file is written last, and the folder is renamed into place. Resume verifies
the marker and the hashes, so a torn or truncated checkpoint is skipped and the one before it is
used. What goes *into* a checkpoint is the recipe's business; this module only moves files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openlora.trainer.rundir import fsync_dir, sha256_file

MARKER = "COMPLETE"
_NAME = re.compile(r"^step-(\d{8})$")


@dataclass(frozen=True)
class Checkpoint:
    """A committed checkpoint folder and its step."""

    path: Path
    step: int


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def commit_checkpoint(root: Path, step: int, write_files: Callable[[Path], None]) -> Checkpoint:
    """Write a checkpoint through ``write_files(staging_dir)`` and commit it atomically."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    staging = root / f".staging-{checkpoint_name(step)}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        write_files(staging)
        hashes = {}
        for file in sorted(p for p in staging.rglob("*") if p.is_file()):
            with file.open("rb") as handle:
                os.fsync(handle.fileno())
            hashes[str(file.relative_to(staging))] = sha256_file(file)
        marker = staging / MARKER
        with marker.open("w", encoding="utf-8") as handle:
            json.dump({"step": step, "files": hashes}, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        fsync_dir(staging)
        if final.exists():  # a re-run of the same step after resume replaces the old copy
            shutil.rmtree(final)
        os.replace(staging, final)
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Checkpoint(final, step)


def verify_checkpoint(path: Path) -> str | None:
    """None when the checkpoint is complete and intact, else the reason it is not."""
    marker = path / MARKER
    if not marker.is_file():
        return "no COMPLETE marker"
    try:
        manifest = json.loads(marker.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (ValueError, KeyError, TypeError):
        return "unreadable COMPLETE marker"
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            return f"missing {name}"
        if sha256_file(file) != expected:
            return f"{name} does not match its recorded hash"
    return None


def list_checkpoints(root: Path) -> list[Checkpoint]:
    """Committed checkpoint folders (complete or not), oldest first."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _NAME.match(child.name)
        if match and child.is_dir():
            found.append(Checkpoint(child, int(match.group(1))))
    return sorted(found, key=lambda c: c.step)


def newest_complete(
    root: Path, on_skip: Callable[[Checkpoint, str], None] | None = None
) -> Checkpoint | None:
    """The newest checkpoint that verifies; torn ones are reported through ``on_skip``."""
    for checkpoint in reversed(list_checkpoints(root)):
        problem = verify_checkpoint(checkpoint.path)
        if problem is None:
            return checkpoint
        if on_skip is not None:
            on_skip(checkpoint, problem)
    return None


def prune_checkpoints(root: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoints, and stale staging folders; returns what went."""
    removed = []
    for checkpoint in list_checkpoints(root)[:-keep]:
        shutil.rmtree(checkpoint.path, ignore_errors=True)
        removed.append(checkpoint.path)
    for staging in root.glob(".staging-*"):
        shutil.rmtree(staging, ignore_errors=True)
        removed.append(staging)
    return removed
