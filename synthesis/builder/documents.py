"""Documents as sections of blocks, and the readers for Markdown and plain text (with encoding fallback).

What it is for: the shared document model (:class:`Document`, :class:`Section`, :class:`Block`) that
every reader produces and the chunker consumes, decoding text files (utf-8, utf-8-sig, then cp1252,
then latin-1 — the one used is reported), the Markdown/plain-text reader (ATX and setext headings,
bullet and numbered lists, pipe tables, paragraphs; inline markup stripped, never rendered), and
:func:`parse_file`, which picks a reader by suffix and turns any failure into a :class:`ParseFailure`.
What it is not for: HTML and PDF (``html_reader``, ``pdf_reader``) or chunking (``chunking``).
Document text is untrusted: it is only ever carried as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

BlockKind = Literal["para", "list", "table"]
SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
CHARS_PER_PAGE = 3000  # a text file's "pages" (for pages/s): about one printed page of prose

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SETEXT = re.compile(r"^(=+|-+)\s*$")
BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+(.+)$")
TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([:;,.!?])(?=\s|$)")
INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"<[^>]+>"), ""),
)


@dataclass
class Block:
    """A paragraph (``text``), a list (``lead`` + ``items``) or a table (``rows``, the first the header)."""

    kind: BlockKind
    text: str = ""
    lead: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def render(self) -> str:
        if self.kind == "list":
            return "\n".join([self.lead, *(f"- {item}" for item in self.items)]).strip()
        if self.kind == "table":
            return "\n".join(" | ".join(row) for row in self.rows)
        return self.text


@dataclass
class Section:
    headings: tuple[str, ...]
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    path: Path
    format: str
    sections: list[Section]
    pages: int = 1
    encoding: str = "utf-8"


@dataclass(frozen=True)
class ParseFailure:
    path: Path
    reason: str


def inline_text(text: str) -> str:
    """Markdown inline markup removed (emphasis, code, links, tags); whitespace collapsed."""
    for pattern, replacement in INLINE:
        text = pattern.sub(replacement, text)
    return SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(text.split()))


def decode(data: bytes) -> tuple[str, str]:
    """The text of ``data`` and the encoding that decoded it (latin-1 accepts any byte, so it is last)."""
    for encoding in ENCODINGS[:-1]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.removeprefix("\ufeff"), encoding
    return data.decode(ENCODINGS[-1]), ENCODINGS[-1]


class SectionBuilder:
    """Collects blocks under the current heading path; used by every reader."""

    def __init__(self, title: str) -> None:
        self.headings: list[tuple[int, str]] = []
        self.sections = [Section((title,))]
        self.title = title

    def heading(self, level: int, text: str) -> None:
        text = inline_text(text)
        if not text:
            return
        self.headings = [(lvl, h) for lvl, h in self.headings if lvl < level] + [(level, text)]
        self.sections.append(Section(tuple(h for _, h in self.headings)))

    def add(self, block: Block) -> None:
        self.sections[-1].blocks.append(block)

    def paragraph(self, text: str) -> None:
        text = inline_text(text)
        if text:
            self.add(Block("para", text=text))

    def result(self) -> list[Section]:
        return [s for s in self.sections if s.blocks]


def _table_cells(line: str) -> list[str]:
    return [inline_text(cell) for cell in TABLE_ROW.match(line).group(1).split("|")]  # type: ignore[union-attr]


def _flush(builder: SectionBuilder, para: list[str], items: list[str], rows: list[list[str]]) -> None:
    if items:
        lead = ""
        last = builder.sections[-1].blocks
        if para:
            lead = inline_text(" ".join(para))
            para.clear()
        elif last and last[-1].kind == "para" and last[-1].text.endswith(":"):
            lead = last.pop().text
        builder.add(Block("list", lead=lead, items=[inline_text(i) for i in items]))
        items.clear()
    if para:
        builder.paragraph(" ".join(para))
        para.clear()
    if rows:
        builder.add(Block("table", rows=[list(r) for r in rows]))
        rows.clear()


def parse_markdown(text: str, title: str) -> list[Section]:
    """Sections of a Markdown (or plain-text) document; fenced code is kept as plain paragraphs."""
    builder = SectionBuilder(title)
    para: list[str] = []
    items: list[str] = []
    rows: list[list[str]] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip().startswith("```"):
            continue
        heading = HEADING.match(line)
        if heading or (line.strip() and SETEXT.match(following) and not para and not items):
            _flush(builder, para, items, rows)
            level = len(heading.group(1)) if heading else (1 if following.startswith("=") else 2)
            builder.heading(level, heading.group(2) if heading else line.strip())
        elif SETEXT.match(line) or TABLE_RULE.match(line):
            continue
        elif TABLE_ROW.match(line):
            _flush(builder, para, items, [])
            rows.append(_table_cells(line))
        elif bullet := BULLET.match(line):
            if rows:
                _flush(builder, [], [], rows)
            items.append(bullet.group(1))
        elif not line.strip():
            _flush(builder, para, [] if items and BULLET.match(following) else items, rows)
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()
        else:
            if items or rows:
                _flush(builder, [], items, rows)
            para.append(line.strip())
    _flush(builder, para, items, rows)
    return builder.result()


def read_text_file(path: Path) -> Document:
    text, encoding = decode(path.read_bytes())
    sections = parse_markdown(text, path.stem)
    pages = max(1, -(-len(text) // CHARS_PER_PAGE))
    return Document(path, path.suffix.lower().lstrip("."), sections, pages, encoding)


def parse_file(path: Path) -> Document | ParseFailure:
    """The document at ``path``, or why it could not be read (never raises for a bad file)."""
    from openlora.synthesis.builder.html_reader import read_html
    from openlora.synthesis.builder.pdf_reader import read_pdf

    suffix = path.suffix.lower()
    readers = {".html": read_html, ".htm": read_html, ".pdf": read_pdf}
    if suffix not in SUFFIXES:
        return ParseFailure(path, f"unsupported file type {suffix or '(none)'}")
    try:
        document = readers.get(suffix, read_text_file)(path)
    except Exception as exc:  # a broken file is reported and skipped, whatever the parser raised
        return ParseFailure(path, f"{type(exc).__name__}: {str(exc)[:200]}")
    if not document.sections:
        return ParseFailure(path, "no text found")
    return document


def parse_folder(folder: Path) -> tuple[list[Document], list[ParseFailure]]:
    """Every file under ``folder`` (sorted, hidden ones skipped), parsed or listed with its reason;
    ``folder`` may also be one file."""
    documents: list[Document] = []
    failures: list[ParseFailure] = []
    if folder.is_file():
        files, folder = [folder], folder.parent
    else:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        result = parse_file(path)
        (failures if isinstance(result, ParseFailure) else documents).append(result)  # type: ignore[arg-type]
    return documents, failures
