"""Storing an uploaded data file under the runs folder: checked, named by its content hash, atomic.

What it is for: the web page's Data tab hands :func:`store_upload` the file its server received and the
name the browser gave. The name is only a hint: the stored name is ``<sha256[:16]>-<stem><suffix>``
with the stem reduced to letters, digits, ``_``, ``-`` and ``.`` (no folder part, no NUL), so
``../../etc/x.jsonl`` or ``a\\x00b.csv`` cannot leave ``RUNS/uploads/``. Only the formats the trainer
reads and raw ``.log`` files are taken, up to a size limit; the bytes are copied to a hidden temporary
file and renamed into place when complete, so a half-written upload never appears in
:func:`list_uploads`. A ``.log`` is imported at once with the default importer the data screens offer
for it (``pack_imports``: the siem pack's log importer unless that pack is missing or broken), its
records and report stored beside it, exactly as the Import button would; any upload can then be
imported with another pack's importer. The same content under the same name is stored once.
What it is not for: previewing the file (``data_preview``) or receiving HTTP uploads (the web server).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from openlora.trainer.download_events import size_text
from openlora.trainer.rundir import fsync_dir
from openlora.ui_core.pack_imports import import_with, importer_choices, is_import_report

UPLOAD_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".txt", ".log")
DEFAULT_MAX_UPLOAD = 2**30  # 1 GiB
HASH_CHARS = 16
STEM_CHARS = 31
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20}
_UNITS |= {"g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


class UploadError(ValueError):
    """The upload is refused; the message says why (format, size, unreadable)."""


@dataclass
class Upload:
    """A stored upload: where it is, what it was called, and the pairs a .log became."""

    path: Path
    original: str
    size: int
    sha256: str
    pairs: Path | None = None
    note: str = ""


def uploads_dir(runs: Path) -> Path:
    """Where uploads are stored: ``RUNS/uploads``."""
    return runs / "uploads"


def parse_size(text: str) -> int:
    """``1GiB``, ``500MB``, ``2g`` or a number of bytes, as bytes; ValueError names the bad text."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a size (e.g. 1GiB, 500MB, 1048576)")
    return int(float(match.group(1)) * _UNITS[unit])


def safe_parts(name: str) -> tuple[str, str]:
    """The stem and the lower-case suffix of an untrusted file name, without any folder or odd character."""
    base = re.split(r"[/\\]", name.replace("\x00", ""))[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    clean = _UNSAFE.sub("-", stem).strip("-.")[:STEM_CHARS].strip("-.") or "upload"
    return clean, f".{_UNSAFE.sub('', suffix).lower()}" if suffix else ""


def store_upload(source: Path, name: str, folder: Path, max_bytes: int = DEFAULT_MAX_UPLOAD) -> Upload:
    """Copy ``source`` (received as ``name``) into ``folder`` under its hash name; see the module text."""
    stem, suffix = safe_parts(name)
    if suffix not in UPLOAD_SUFFIXES:
        shown = suffix or "no extension"
        raise UploadError(f"{shown} is not accepted: upload {', '.join(UPLOAD_SUFFIXES)}")
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise UploadError(f"the upload could not be read: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise UploadError(f"{size_text(size)} is over the upload limit of {size_text(max_bytes)}")
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".partial-{uuid.uuid4().hex}{suffix}"
    try:
        digest = _copy_hashing(source, partial, max_bytes)
        target = folder / f"{digest[:HASH_CHARS]}-{stem}{suffix}"
        if target.is_file():
            partial.unlink()
        else:
            os.replace(partial, target)
            fsync_dir(folder)
    finally:
        partial.unlink(missing_ok=True)
    upload = Upload(target, name, target.stat().st_size, digest)
    if suffix == ".log":
        _import(upload, folder)
    return upload


def _copy_hashing(source: Path, target: Path, max_bytes: int) -> str:
    """Copy in 1 MiB blocks, hashing as it goes; refuse a file that grows past ``max_bytes``."""
    digest = hashlib.sha256()
    copied = 0
    with source.open("rb") as reader, target.open("xb") as writer:
        for block in iter(lambda: reader.read(1 << 20), b""):
            copied += len(block)
            if copied > max_bytes:
                raise UploadError(f"the upload is over the limit of {size_text(max_bytes)}")
            digest.update(block)
            writer.write(block)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest()


def _import(upload: Upload, folder: Path) -> None:
    """A raw log's records beside it through its default pack importer; the note says what was made,
    or why nothing was (no pack takes it, the importer found no events, a broken pack)."""
    choices = importer_choices(upload.path)
    if choices.default is None:
        broken = f" (broken packs: {'; '.join(choices.broken)})" if choices.broken else ""
        upload.note = f"{upload.path.name}: no installed pack imports a .log file{broken}"
        return
    done = import_with(upload.path, choices.default, folder)
    upload.pairs, upload.note = done.pairs, done.note


def list_uploads(folder: Path) -> list[Path]:
    """Stored uploads (and the records imported from them), newest first; temporary files and the
    imports' ``.report.json`` files left out."""
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() in UPLOAD_SUFFIXES
        and not is_import_report(p)
    ]
    return sorted(found, key=lambda p: (-p.stat().st_mtime, p.name))


def inside(path: Path, folder: Path) -> bool:
    """True when ``path`` (resolved) lies inside ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def with_stored_names(text: str, folder: Path) -> str:
    """``text`` with each upload's original name (``kv.jsonl``) replaced by its stored name (the newest
    upload of that name), so a request in words can name a file as the person called it."""
    for path in reversed(list_uploads(folder)):  # oldest first: the newest of a name is replaced last
        _, _, original = path.name.partition("-")
        text = re.sub(rf"(?<![\w./-]){re.escape(original)}(?![\w.-])", path.name, text)
    return text
