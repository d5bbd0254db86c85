"""The domain-pack interface (version 1): what a pack may contribute, as frozen dataclasses with help text.

What it is for: the types a pack author builds a :class:`Pack` from — importers (raw files → records),
evaluation checks, prompt templates, synthesis recipes and goal defaults — plus :func:`problems`, the
checks the registry applies to a pack before it is used, and :class:`ImportReport`, what an importer
says about the lines or files it skipped.
What it is not for: discovery (``registry``) or running an importer (``running``). A pack module
imports only this file from OpenLoRA, so the interface can stay small and stable; a change that breaks
packs raises :data:`INTERFACE_VERSION`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INTERFACE_VERSION = 1
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# A record is a prompt/response pair ({"prompt", "response"}) or a completion text ({"text"}), strings;
# other keys (a record's provenance) are kept as they are and must be JSON-serialisable.
Record = dict[str, Any]


@dataclass
class ImportReport:
    """What an importer read: records made, what it skipped (where and why), counts per kind."""

    source: str = ""
    records: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def skip(self, where: str | int, reason: str) -> None:
        """Note one skipped line (its number) or file (its path) and the reason; never raises."""
        self.skipped.append((str(where), reason))

    def count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.records,
            "skipped": [{"where": w, "reason": r} for w, r in self.skipped],
            "counts": dict(self.counts),
            "details": dict(self.details),
        }


ImportFunction = Callable[[Path], tuple[list[Record], ImportReport]]


@dataclass(frozen=True)
class Importer:
    """Raw files → records. ``accepts``: suffixes (``.log``), ``dir`` for a folder, ``*`` for any file."""

    name: str
    help: str
    accepts: tuple[str, ...]
    run: ImportFunction

    def takes(self, path: Path) -> bool:
        """Whether this importer accepts ``path`` (a folder, or a file by its suffix)."""
        if path.is_dir():
            return "dir" in self.accepts
        return "*" in self.accepts or path.suffix.lower() in self.accepts


@dataclass(frozen=True)
class Check:
    """An evaluation check: ``passes(prompt, output)`` is True when the output has the required form."""

    name: str
    help: str
    passes: Callable[[str, str], bool]


@dataclass(frozen=True)
class Template:
    """A prompt/chat template: a system message and a user prompt with ``{input}`` where the input goes."""

    name: str
    help: str
    prompt: str
    system: str = ""

    def render(self, text: str) -> str:
        return self.prompt.replace("{input}", text)


@dataclass(frozen=True)
class Recipe:
    """A synthesis recipe: the instruction a generator follows to write new pairs like the imported ones."""

    name: str
    help: str
    instruction: str


@dataclass(frozen=True)
class GoalDefaults:
    """What a goal naming this pack gets where it leaves a key unset (goal.yaml keys and shapes)."""

    task: str | None = None
    success: Mapping[str, float] | None = None
    evaluation: Mapping[str, Any] = field(default_factory=dict)
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pack:
    """A domain pack: its name, version, the interface version it was written for, and what it brings."""

    name: str
    version: str
    interface_version: int
    description: str
    importers: tuple[Importer, ...] = ()
    checks: tuple[Check, ...] = ()
    templates: tuple[Template, ...] = ()
    recipes: tuple[Recipe, ...] = ()
    goal_defaults: GoalDefaults | None = None

    def importer(self, name: str) -> Importer | None:
        return next((i for i in self.importers if i.name == name), None)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


def _part_problems(pack: Pack) -> list[str]:
    found: list[str] = []
    for kind, parts, cls in (
        ("importers", pack.importers, Importer),
        ("checks", pack.checks, Check),
        ("templates", pack.templates, Template),
        ("recipes", pack.recipes, Recipe),
    ):
        if not isinstance(parts, tuple) or not all(isinstance(p, cls) for p in parts):
            found.append(f"{kind} must be a tuple of {cls.__name__}")
            continue
        names = [p.name for p in parts]
        if len(set(names)) != len(names):
            found.append(f"{kind}: duplicate names {sorted(n for n in set(names) if names.count(n) > 1)}")
        found += [f"{kind}: {p.name!r} has no help text" for p in parts if not str(p.help).strip()]
    found += [f"importer {i.name!r}: run is not callable" for i in pack.importers if not callable(i.run)]
    found += [f"check {c.name!r}: passes is not callable" for c in pack.checks if not callable(c.passes)]
    return found


def problems(pack: Any, entry_name: str) -> list[str]:
    """Why ``pack`` (what an entry point loaded) cannot be used; empty when it can."""
    if not isinstance(pack, Pack):
        return [f"the entry point gives a {type(pack).__name__}, not an openlora Pack"]
    if pack.interface_version != INTERFACE_VERSION:
        return [
            f"written for pack interface {pack.interface_version!r}; this OpenLoRA speaks {INTERFACE_VERSION}"
        ]
    found = [] if NAME.match(pack.name) else [f"name {pack.name!r} is not lowercase letters, digits, - or _"]
    if pack.name != entry_name:
        found.append(f"the entry point is named {entry_name!r} but the pack calls itself {pack.name!r}")
    if not str(pack.description).strip():
        found.append("no description")
    found += _part_problems(pack)
    defaults = pack.goal_defaults
    if defaults is not None:
        found += [f"goal_defaults.checks: no check {c!r}" for c in defaults.checks if pack.check(c) is None]
    return found
