"""Importing a data file or folder with a domain pack, for the TUI's data screen and the web Data tab.

What it is for: :func:`importer_choices` lists, for one path, every installed pack's importers that
accept it (``Importer.accepts``: suffixes, ``dir`` or ``*``), the ones naming the path's suffix (or
``dir``) before the catch-all ones, with the siem pack's log importer first for a ``.log``; broken
packs come with their reason, and ``as_is`` says whether the trainer reads the file as it is.
:func:`import_with` runs the chosen ``pack/importer`` (``synthesis.packs.running``), writes the
records and their report beside the file, atomically, and returns the records' path and a short
note (records, counts, skipped lines or files, truncated past ten); anything that goes wrong — an
unknown or broken pack, an importer that raises or returns rubbish, a file that cannot be written —
is a note naming the pack and importer, never an exception.
What it is not for: parsing anything (the packs do), or any widget. The note holds text from the
data (skip reasons, file names): the fronts render it literally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from openlora.synthesis.packs.registry import PackError, Registry, installed
from openlora.synthesis.packs.running import LOG_IMPORTER, report_lines, run_import, write_import
from openlora.trainer.data_files import SUFFIXES

LOG_DEFAULT = "/".join(LOG_IMPORTER)  # a .log is imported by the siem pack unless the person picks another
REPORT_SUFFIX = ".report.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ImporterChoice:
    """One importer of one pack that accepts the path."""

    pack: str
    importer: str
    help: str

    @property
    def value(self) -> str:
        """``pack/importer``, what :func:`import_with` takes."""
        return f"{self.pack}/{self.importer}"

    @property
    def label(self) -> str:
        """The value and the importer's help text (cut), for a dropdown or an option list."""
        text = " ".join(self.help.split())
        return f"{self.value} — {text[:100]}{'…' if len(text) > 100 else ''}"


@dataclass
class Choices:
    """The importers that accept a path (the default first), the broken packs, whether it trains as is."""

    options: list[ImporterChoice] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    as_is: bool = False

    @property
    def default(self) -> str | None:
        return self.options[0].value if self.options else None

    @property
    def values(self) -> list[str]:
        return [o.value for o in self.options]


@dataclass
class PackImport:
    """What an import made: the records' path (None when nothing was written) and a note in words."""

    pairs: Path | None
    note: str
    records: int = 0


def importer_choices(path: Path, registry: Registry | None = None) -> Choices:
    """Every usable pack's importers that take ``path``, the specific ones first; see the module text."""
    registry = registry or installed()
    specific: list[ImporterChoice] = []
    catch_all: list[ImporterChoice] = []
    for name in sorted(registry.packs):
        for importer in registry.packs[name].importers:
            try:
                takes = importer.takes(path)
            except OSError:  # a path that vanished or cannot be read takes nothing
                takes = False
            if takes:
                named = path.is_dir() or path.suffix.lower() in importer.accepts
                (specific if named else catch_all).append(ImporterChoice(name, importer.name, importer.help))
    options = specific + catch_all
    if path.suffix.lower() == ".log" and not path.is_dir():
        options.sort(key=lambda o: o.value != LOG_DEFAULT)  # stable: only the siem importer moves
    broken = [f"{b.name}: {b.reason}" for _, b in sorted(registry.broken.items())]
    as_is = path.is_file() and path.suffix.lower() in SUFFIXES
    return Choices(options, broken, as_is)


def pack_suffixes(registry: Registry | None = None) -> set[str]:
    """The suffixes the installed packs' importers name (not ``dir`` or ``*``): files a data screen
    lists because a pack can import them."""
    registry = registry or installed()
    named = {s.lower() for p in registry.packs.values() for i in p.importers for s in i.accepts}
    return {s for s in named if s.startswith(".")}


def pairs_path(path: Path, choice: str) -> Path:
    """Where the records of ``path`` imported with ``choice`` go: beside it, named after both."""
    name = path.name if path.is_dir() else path.stem
    stem = _UNSAFE.sub("-", name).strip("-.")[:80] or "import"
    tag = _UNSAFE.sub("-", choice.replace("/", "-")).strip("-.")
    return path.parent / f"{stem}.{tag}.jsonl"


def is_import_report(path: Path) -> bool:
    """True for the ``.report.json`` an import wrote beside its records (not data: lists leave it out)."""
    name = path.name
    return (
        name.endswith(REPORT_SUFFIX) and path.with_name(name.removesuffix(REPORT_SUFFIX) + ".jsonl").exists()
    )


def import_with(
    path: Path, choice: str, folder: Path | None = None, registry: Registry | None = None
) -> PackImport:
    """Import ``path`` with ``choice`` (``pack/importer``) into records beside it (or in ``folder``)."""
    pack, _, importer = choice.partition("/")
    where = f"pack {pack!r}: importer {importer!r}"
    registry = registry or installed()
    if not path.exists():
        return PackImport(None, f"{path.name}: not found")
    if choice not in importer_choices(path, registry).values:
        return PackImport(None, _refusal(path, choice, registry))
    try:
        result = run_import(pack, path, importer, registry)
    except PackError as exc:
        return PackImport(None, f"{path.name}: {exc}")
    lines = report_lines(result)
    if not result.records:
        return PackImport(None, "\n".join([f"{path.name}: nothing to import, no file written", *lines]))
    target = pairs_path(path, choice)
    if folder is not None:
        target = folder / target.name
    try:
        write_import(target, result)
    except Exception as exc:  # a full disk, or a record the pack made that is not JSON
        return PackImport(None, f"{path.name}: {where}: the records could not be written: {exc}")
    return PackImport(target, "\n".join([f"{path.name} → {target.name}", *lines]), len(result.records))


def _refusal(path: Path, choice: str, registry: Registry) -> str:
    """Why ``choice`` cannot import ``path``: the pack is unknown or broken, or does not take it."""
    pack, _, importer = choice.partition("/")
    try:
        registry.get(pack)
    except PackError as exc:
        return f"{path.name}: {exc}"
    what = "a folder" if path.is_dir() else f"a '{path.suffix or 'no suffix'}' file"
    return f"{path.name}: pack {pack!r} has no importer {importer!r} that takes {what}"
