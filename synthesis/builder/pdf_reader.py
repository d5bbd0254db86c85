"""PDF pages to sections with ``pypdf`` (pure Python), undoing two-column layout and keeping tables.

What it is for: the text of born-digital PDFs. Every text fragment is collected with its position
and size (pypdf's ``visitor_text``); fragments on one baseline form a line. A line of three or more
cells is a table row; a run of lines that each hold one fragment left of the page's middle and one
right of it is a two-column block, read left column first; a line set clearly larger than the
body text is a heading. When no positions come back the page's plain ``extract_text`` is used.
What it is not for: scanned PDFs (no OCR), encrypted files (reported as a parse failure), or layouts
with more than two columns. A two-cell table row is read as two columns.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlora.synthesis.builder.documents import Document, parse_markdown

HEADING_RATIO = 1.2  # a line this much larger than the median size is a heading
BASELINE_TOLERANCE = 2.0  # points: fragments closer than this vertically share a line
CHAR_WIDTH = 0.5  # Helvetica's average glyph width as a share of the font size, to estimate a line's end


@dataclass
class Fragment:
    x: float
    y: float
    size: float
    text: str


def _fragments(page: Any) -> list[Fragment]:
    found: list[Fragment] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        found.append(Fragment(x, y, abs(size * (tm[3] or 1) * (cm[3] or 1)), text.strip()))

    page.extract_text(visitor_text=visit)
    return found


def _lines(fragments: list[Fragment]) -> list[list[Fragment]]:
    lines: list[list[Fragment]] = []
    for fragment in sorted(fragments, key=lambda f: (-f.y, f.x)):
        if lines and abs(lines[-1][0].y - fragment.y) <= BASELINE_TOLERANCE:
            lines[-1].append(fragment)
        else:
            lines.append([fragment])
    return [sorted(line, key=lambda f: f.x) for line in lines]


def _is_two_column(line: list[Fragment], middle: float) -> bool:
    return len(line) == 2 and line[0].x < middle <= line[1].x


def _fits_a_column(line: list[Fragment], size: float, middle: float) -> bool:
    """One fragment of the columns' size that stays on one side of the middle (a column's last lines)."""
    if len(line) != 1 or abs(line[0].size - size) > 0.5:
        return False
    fragment = line[0]
    end = fragment.x + len(fragment.text) * fragment.size * CHAR_WIDTH
    return fragment.x >= middle or end < middle


def _emit_columns(block: list[list[Fragment]], middle: float, out: list[tuple[str, float]]) -> None:
    left = [f for line in block for f in line if f.x < middle]
    right = [f for line in block for f in line if f.x >= middle]
    out.extend((f.text, f.size) for f in left)
    out.append(("", 0.0))  # a column ends a paragraph
    out.extend((f.text, f.size) for f in right)
    out.append(("", 0.0))


def _page_lines(page: Any) -> list[tuple[str, float]]:
    """The page as (text, size) lines in reading order; a table row's cells joined by `` | ``."""
    lines = _lines(_fragments(page))
    middle = float(page.mediabox.width) / 2
    out: list[tuple[str, float]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _is_two_column(line, middle):
            end = index
            while end < len(lines) and (
                _is_two_column(lines[end], middle) or _fits_a_column(lines[end], line[0].size, middle)
            ):
                end += 1
            _emit_columns(lines[index:end], middle, out)
            index = end
            continue
        if len(line) >= 3:
            out.append(("| " + " | ".join(f.text for f in line) + " |", line[0].size))
        else:
            out.append((" ".join(f.text for f in line), max(f.size for f in line)))
        index += 1
    return out


def _as_markdown(lines: list[tuple[str, float]]) -> str:
    """Lines as Markdown: headings by size, table rows kept, body lines joined into paragraphs."""
    sizes = [size for _, size in lines if size > 0]
    body = statistics.median(sizes) if sizes else 0
    parts: list[str] = []
    for text, size in lines:
        if body and size >= body * HEADING_RATIO:
            level = 1 if size >= body * 1.6 else 2
            parts += ["", "#" * level + " " + text, ""]
        elif text.startswith("|"):
            if parts and parts[-1] and not parts[-1].startswith("|"):
                parts.append("")
            parts.append(text)
        else:
            if parts and parts[-1].startswith("|"):
                parts.append("")
            parts.append(text)
    return "\n".join(parts)


@contextmanager
def _pypdf_quiet() -> Iterator[None]:
    """pypdf logs its repairs of a damaged file ("EOF marker not found") as warnings on the console;
    a file it cannot read fails with its own reason instead, so only errors are let through."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_pdf(path: Path) -> Document:
    from pypdf import PdfReader

    with _pypdf_quiet():
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise ValueError("encrypted PDF")
        texts = []
        for page in reader.pages:
            lines = _page_lines(page)
            texts.append(_as_markdown(lines) if lines else page.extract_text() or "")
    sections = parse_markdown("\n\n".join(texts), path.stem)
    return Document(path, "pdf", sections, len(reader.pages), "pdf")
