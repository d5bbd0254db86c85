"""HTML pages to sections, with the standard library's ``html.parser`` (no third-party parser).

What it is for: the text a person reads on a page — h1–h6 become headings, ``p``/``div``/``pre``
paragraphs, ``ul``/``ol`` lists (led by the paragraph before them when it ends with a colon), tables
rows of cells; ``script``, ``style``, ``nav``, ``header``, ``footer``, ``aside``, ``form``,
``noscript``, ``template``, ``svg`` and ``head`` are skipped whole. Entities are decoded by the parser.
What it is not for: rendering, running scripts or following links: page text is untrusted data.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from openlora.synthesis.builder.documents import (
    CHARS_PER_PAGE,
    Block,
    Document,
    Section,
    SectionBuilder,
    decode,
)

SKIPPED = {
    "script",
    "style",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "noscript",
    "template",
    "svg",
    "head",
}
HEADINGS = {f"h{level}": level for level in range(1, 7)}
BREAKS = {"p", "div", "pre", "blockquote", "section", "article", "main", "br", "dd", "dt", "body"}
VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "source", "col", "area", "base"}


class _PageParser(HTMLParser):
    def __init__(self, title: str) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = SectionBuilder(title)
        self.skip: list[str] = []
        self.text: list[str] = []
        self.heading_level = 0
        self.lists: list[Block] = []
        self.rows: list[list[str]] | None = None
        self.row: list[str] | None = None

    def _take(self) -> str:
        text = " ".join(" ".join(self.text).split())
        self.text = []
        return text

    def _paragraph(self) -> None:
        text = self._take()
        if not text:
            return
        if self.row is not None:
            self.text = [text]  # inside a cell: the cell collects it
        elif self.lists:
            self.lists[-1].items.append(text)
        else:
            self.builder.paragraph(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip or tag in SKIPPED:
            if tag not in VOID:
                self.skip.append(tag)
            return
        if tag in HEADINGS or tag in BREAKS or tag in {"ul", "ol", "li", "table"}:
            self._paragraph()
        if tag in HEADINGS:
            self.heading_level = HEADINGS[tag]
        elif tag in {"ul", "ol"}:
            last = self.builder.sections[-1].blocks
            lead = last.pop().text if last and last[-1].kind == "para" and last[-1].text.endswith(":") else ""
            self.lists.append(Block("list", lead=lead))
        elif tag == "table":
            self.rows = []
        elif tag == "tr":
            self.row = []
        elif tag in {"td", "th"}:
            self.text = []

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag in HEADINGS:
            self.builder.heading(self.heading_level, self._take())
            self.heading_level = 0
        elif tag in {"td", "th"} and self.row is not None:
            self.row.append(self._take())
        elif tag == "tr" and self.row is not None and self.rows is not None:
            if any(self.row):
                self.rows.append(self.row)
            self.row = None
        elif tag == "table" and self.rows is not None:
            if self.rows:
                self.builder.add(Block("table", rows=self.rows))
            self.rows = None
        elif tag in {"ul", "ol"} and self.lists:
            self._paragraph()
            block = self.lists.pop()
            if block.items:
                self.builder.add(block)
        elif tag in BREAKS or tag == "li":
            self._paragraph()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.text.append(data)


def parse_html(text: str, title: str) -> list[Section]:
    parser = _PageParser(title)
    parser.feed(text)
    parser.close()
    parser._paragraph()
    return parser.builder.result()


def read_html(path: Path) -> Document:
    text, encoding = decode(path.read_bytes())
    sections = parse_html(text, path.stem)
    chars = sum(len(block.render()) for section in sections for block in section.blocks)
    return Document(path, "html", sections, max(1, -(-chars // CHARS_PER_PAGE)), encoding)
