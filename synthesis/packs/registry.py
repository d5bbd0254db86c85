"""Finding the installed domain packs: entry points of the ``openlora.packs`` group, loaded and checked.

What it is for: :func:`installed` (cached) and :func:`discover` (fresh) load every entry point of the
group, check each pack against the interface (``interface.problems``) and return a :class:`Registry`
of the usable packs and, by name, the broken ones with their reason — an import error, a wrong
interface version, a malformed pack. One broken pack never stops the others from loading. The
registry also resolves a goal's check names (``pack.check``) to functions.
What it is not for: running an importer (``running``) or knowing any particular pack: the built-in
packs are found through their entry points like any other.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from openlora.synthesis.packs.interface import Check, Importer, Pack, problems

GROUP = "openlora.packs"


class PackError(ValueError):
    """A pack is unknown, broken, or has no importer for a path; the message names the pack."""


@dataclass(frozen=True)
class BrokenPack:
    """A pack that was found but cannot be used, with where it was found and why."""

    name: str
    target: str
    reason: str


@dataclass
class Registry:
    """The usable packs by name and the broken ones by name."""

    packs: dict[str, Pack] = field(default_factory=dict)
    broken: dict[str, BrokenPack] = field(default_factory=dict)

    def get(self, name: str) -> Pack:
        """The pack called ``name``; PackError says whether it is broken (and why) or not installed."""
        if name in self.packs:
            return self.packs[name]
        if name in self.broken:
            raise PackError(f"pack {name!r} is broken: {self.broken[name].reason}")
        known = ", ".join(sorted(self.packs)) or "none"
        raise PackError(f"no pack {name!r} is installed (installed: {known})")

    def importer(self, pack_name: str, path: Path, name: str | None = None) -> Importer:
        """The pack's importer called ``name``, else the first one that accepts ``path``."""
        pack = self.get(pack_name)
        if name is not None:
            chosen = pack.importer(name)
            if chosen is None:
                names = ", ".join(i.name for i in pack.importers) or "none"
                raise PackError(f"pack {pack_name!r} has no importer {name!r} (it has: {names})")
            return chosen
        for candidate in pack.importers:
            if candidate.takes(path):
                return candidate
        kinds = "; ".join(f"{i.name}: {', '.join(i.accepts)}" for i in pack.importers) or "no importers"
        what = "folder" if path.is_dir() else f"'{path.suffix or 'no suffix'}' file"
        raise PackError(f"pack {pack_name!r} has no importer for a {what} ({kinds})")

    def check(self, name: str, default_pack: str | None = None) -> Check:
        """A check named ``pack.check``, or ``check`` of ``default_pack``; PackError when there is none."""
        pack_name, _, check_name = name.rpartition(".")
        pack = self.get(pack_name or default_pack or "")
        found = pack.check(check_name)
        if found is None:
            names = ", ".join(c.name for c in pack.checks) or "none"
            raise PackError(f"pack {pack.name!r} has no check {check_name!r} (it has: {names})")
        return found


def _load(entry: EntryPoint) -> Pack | BrokenPack:
    try:
        loaded = entry.load()
        pack = loaded() if callable(loaded) and not isinstance(loaded, Pack) else loaded
    except Exception as exc:  # a pack's import may fail in any way; it must not take the others down
        return BrokenPack(entry.name, entry.value, f"could not be loaded: {type(exc).__name__}: {exc}")
    found = problems(pack, entry.name)
    if found:
        return BrokenPack(entry.name, entry.value, "; ".join(found))
    return pack


def discover() -> Registry:
    """Load every pack installed under the entry-point group now (no cache)."""
    registry = Registry()
    seen: dict[str, set[str]] = {}
    for entry in sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
        if entry.name in registry.packs or entry.name in registry.broken:
            if entry.value in seen.get(entry.name, ()):  # one distribution seen twice on sys.path
                continue
            first = registry.packs.get(entry.name)
            where = registry.broken[entry.name].target if first is None else "another distribution"
            registry.broken[entry.name] = BrokenPack(
                entry.name, entry.value, f"two packs share the name (also {where}); neither is used"
            )
            registry.packs.pop(entry.name, None)
            continue
        seen[entry.name] = {entry.value}
        result = _load(entry)
        if isinstance(result, BrokenPack):
            registry.broken[entry.name] = result
        else:
            registry.packs[entry.name] = result
    return registry


@functools.cache
def installed() -> Registry:
    """The installed packs, loaded once per process (:func:`refresh` forgets them)."""
    return discover()


def refresh() -> Registry:
    """Forget the cached packs and look again (after installing a pack into a running process)."""
    installed.cache_clear()
    importlib.invalidate_caches()
    return installed()
