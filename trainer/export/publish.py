"""Publishing one export format at a time: staging folder, swap into place, manifest with hashes.

``exports/<format>/`` is built in ``exports/.staging-<format>-<pid>/``; only when every file is
written and checked is the old folder moved aside and the new one renamed into place, so a folder
never mixes files of two exports. A failed build leaves the previous export untouched. A crash in
the instant between the two renames is repaired on the next publish. ``exports/manifest.json``
records each format's files (size, SHA-256), checks and time; it is rewritten atomically.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openlora.trainer.rundir import MANIFEST_FILE as MANIFEST
from openlora.trainer.rundir import fsync_dir, read_json, sha256_file, write_json_atomic


def _recover(exports: Path, name: str) -> None:
    final = exports / name
    leftovers = sorted(exports.glob(f".old-{name}-*"))
    if not final.exists() and leftovers:
        os.replace(leftovers[-1], final)  # a crash between the two renames: put the old one back
        leftovers = leftovers[:-1]
    for path in [*leftovers, *exports.glob(f".staging-{name}-*")]:
        shutil.rmtree(path, ignore_errors=True)


def publish(exports: Path, name: str, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Build format ``name`` through ``build(staging_dir) -> details`` and publish it atomically."""
    exports.mkdir(parents=True, exist_ok=True)
    _recover(exports, name)
    staging = exports / f".staging-{name}-{os.getpid()}"
    staging.mkdir()
    try:
        details = build(staging)
        files = {}
        for file in sorted(p for p in staging.rglob("*") if p.is_file()):
            with file.open("rb") as handle:
                os.fsync(handle.fileno())
            files[str(file.relative_to(staging))] = {
                "bytes": file.stat().st_size,
                "sha256": sha256_file(file),
            }
        fsync_dir(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = exports / name
    old = exports / f".old-{name}-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    fsync_dir(exports)
    shutil.rmtree(old, ignore_errors=True)
    entry = {"path": name, "files": files, "created_at": time.time(), **details}
    update_manifest(exports, name, entry)
    return entry


def update_manifest(exports: Path, name: str, entry: dict[str, Any]) -> None:
    path = exports / MANIFEST
    manifest: dict[str, Any] = {"formats": {}}
    if path.exists():
        try:
            manifest = read_json(path)
        except ValueError:
            manifest = {"formats": {}}
    manifest.setdefault("formats", {})[name] = entry
    write_json_atomic(path, manifest)


def read_manifest(exports: Path) -> dict[str, Any]:
    path = exports / MANIFEST
    return read_json(path) if path.exists() else {"formats": {}}
