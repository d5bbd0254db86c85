"""The ``verse`` pack: poems → style-continuation pairs, and a check that outputs keep the line structure.

What it is for: declaring the pack (``PACK``, registered under ``openlora.packs``): one importer for a
``.txt``/``.md`` file or a folder of them, which splits poems (``poems``) and turns each into
"continue this poem" pairs — the title and first stanzas → the next stanza (a one-stanza poem: its
first half → the rest); the ``line-structure`` check (``structure``); goal defaults.
What it is not for: generating verse (the synthesizer does, from these pairs).
"""

from __future__ import annotations

from pathlib import Path

from openlora.packs.verse.poems import Poem, split_poems
from openlora.packs.verse.structure import line_structure
from openlora.synthesis.packs.interface import (
    INTERFACE_VERSION,
    Check,
    GoalDefaults,
    Importer,
    ImportReport,
    Pack,
    Recipe,
    Record,
    Template,
)

SUFFIXES = (".txt", ".md")
INSTRUCTION = "Continue this poem in the same style."
MAX_PAIRS_PER_POEM = 6


def poem_pairs(poem: Poem) -> list[Record]:
    """Continuation pairs from one poem; none when it is shorter than four lines."""
    head = f"{poem.title}\n\n" if poem.title else ""
    stanzas = ["\n".join(s) for s in poem.stanzas]
    if len(stanzas) == 1:
        lines = poem.stanzas[0]
        if len(lines) < 4:
            return []
        half = len(lines) // 2
        return [
            {
                "prompt": f"{INSTRUCTION}\n{head}" + "\n".join(lines[:half]),
                "response": "\n".join(lines[half:]),
            }
        ]
    return [
        {"prompt": f"{INSTRUCTION}\n{head}" + "\n\n".join(stanzas[:k]), "response": stanzas[k]}
        for k in range(1, min(len(stanzas), MAX_PAIRS_PER_POEM + 1))
    ]


def _read_file(path: Path, where: str, report: ImportReport) -> list[Record]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        report.skip(where, "not UTF-8 text")
        return []
    records: list[Record] = []
    for poem in split_poems(text):
        found = poem_pairs(poem)
        if not found:
            report.skip(f"{where}:{poem.line}", "poem shorter than four lines")
        report.count("poems")
        records += found
    return records


def import_poems(path: Path) -> tuple[list[Record], ImportReport]:
    """Continuation pairs from a poem file or a folder of them (sorted, hidden files left out)."""
    report = ImportReport(source=str(path))
    if path.is_file():
        return _read_file(path, path.name, report), report
    records: list[Record] = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if (
            file.is_file()
            and file.suffix.lower() in SUFFIXES
            and not any(p.startswith(".") for p in relative.parts)
        ):
            records += _read_file(file, relative.as_posix(), report)
            report.count("files")
    return records, report


PACK = Pack(
    name="verse",
    version="1.0.0",
    interface_version=INTERFACE_VERSION,
    description="Poems → style-continuation pairs; a check that outputs keep the poem's line structure.",
    importers=(
        Importer(
            name="poems",
            help=(
                "A .txt/.md file or a folder of them; poems split at titles, separators (***) and wide gaps, "
                "stanzas at blank lines; each stanza after the first is a continuation pair."
            ),
            accepts=("dir", *SUFFIXES),
            run=import_poems,
        ),
    ),
    checks=(
        Check(
            "line-structure",
            "The output is broken into lines like the prompt's poem: line count and line length within 2×.",
            line_structure,
        ),
    ),
    templates=(Template("continue", "Ask for the next stanza.", f"{INSTRUCTION}\n{{input}}"),),
    recipes=(
        Recipe(
            "variations",
            "New opening stanzas in the corpus' style.",
            "Write a new opening stanza in the style of these poems.",
        ),
    ),
    goal_defaults=GoalDefaults(
        task="Continue poems in the style of the corpus.",
        success={"val_loss_below": 2.5},
        checks=("line-structure",),
    ),
)
