"""Poems from text: a file split into poems (titles, separators, wide gaps) and each poem into stanzas.

What it is for: :func:`split_poems`. Stanzas are runs of lines between blank lines. A new poem starts
after a separator line (``***``, ``---``, ``~~~``), after two or more blank lines in a row, or at a
title: a single short line (or a Markdown ``#`` heading) followed by a stanza.
What it is not for: making pairs (the pack's importer) or judging outputs (``structure``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SEPARATOR = re.compile(r"^\s*(?:[*~=-]\s*){3,}$")
TITLE_WORDS = 8


@dataclass
class Poem:
    """A poem: its title (may be empty), its stanzas (lists of lines) and the line it starts on."""

    title: str
    line: int
    stanzas: list[list[str]] = field(default_factory=list)


def _blocks(text: str) -> list[tuple[int, list[str], int]]:
    """(first line number, lines, blank lines before it) for each run of non-blank lines."""
    blocks: list[tuple[int, list[str], int]] = []
    current: list[str] = []
    start, blanks = 0, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line.rstrip())
            continue
        if current:
            blocks.append((start, current, blanks))
            current, blanks = [], 0
        blanks += 1
    if current:
        blocks.append((start, current, blanks))
    return blocks


def _is_title(lines: list[str]) -> bool:
    if len(lines) != 1:
        return False
    line = lines[0].strip()
    return line.startswith("#") or (len(line.split()) <= TITLE_WORDS and not line.endswith((",", ";", ".")))


def split_poems(text: str) -> list[Poem]:
    """The poems in ``text``, in order."""
    poems: list[Poem] = []
    blocks = _blocks(text)
    for i, (start, lines, blanks) in enumerate(blocks):
        if SEPARATOR.match(lines[0]) and len(lines) == 1:
            poems.append(Poem("", start + 1))
            continue
        followed = i + 1 < len(blocks) and not _is_title(blocks[i + 1][1]) and blocks[i + 1][2] < 2
        if _is_title(lines) and followed:
            poems.append(Poem(lines[0].strip().lstrip("#").strip(), start))
            continue
        if not poems or (blanks >= 2 and poems[-1].stanzas):
            poems.append(Poem("", start))
        poems[-1].stanzas.append(lines)
    return [p for p in poems if p.stanzas]
