"""Each reader on its format: Markdown, HTML with scripts and navigation, a two-column PDF with a
table, non-UTF-8 text, and files that cannot be parsed (listed with the reason, skipped)."""

from __future__ import annotations

from pathlib import Path

from openlora.synthesis.builder.documents import Document, ParseFailure, decode, parse_file, parse_folder
from openlora.synthesis.builder.pdf_writer import Line, write_pdf

HTML = """<!DOCTYPE html><html><head><title>Page title</title>
<style>p { color: red; }</style><script>var secret = "tracking code";</script></head>
<body><header>Site banner</header><nav><a href="/">Home</a> <a href="/login">Log in</a></nav>
<h1>Glossary</h1><p>The rain sensor is a heated plate that detects drops.</p>
<p>The dome parts are:</p><ul><li>Shutter: the moving panel</li><li>Windscreen: the curtain</li></ul>
<table><tr><th>Sensor</th><th>Interval</th></tr><tr><td>Anemometer</td><td>1 second</td></tr></table>
<aside>Tip of the day</aside><form><p>Subscribe</p></form><noscript>Enable JavaScript</noscript>
<footer>Copyright line</footer><script>track();</script></body></html>"""


def _texts(document: Document) -> str:
    return "\n".join(block.render() for section in document.sections for block in section.blocks)


def test_markdown_keeps_headings_lists_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "dome.md"
    path.write_text(
        "# Dome\n\nThe dome is a **steel** hemisphere.\n\n## Parts\n\nThe dome includes:\n\n"
        "- Shutter: the panel\n- Rain sensor\n\n| Axis | Range |\n| --- | --- |\n| Azimuth | 270 |\n",
        encoding="utf-8",
    )
    document = parse_file(path)
    assert isinstance(document, Document)
    by_heading = {s.headings: s.blocks for s in document.sections}
    assert by_heading[("Dome",)][0].text == "The dome is a steel hemisphere."
    listed, table = by_heading[("Dome", "Parts")]
    assert (listed.kind, listed.lead, listed.items) == (
        "list",
        "The dome includes:",
        ["Shutter: the panel", "Rain sensor"],
    )
    assert table.rows == [["Axis", "Range"], ["Azimuth", "270"]]


def test_html_skips_scripts_navigation_and_chrome(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    document = parse_file(path)
    assert isinstance(document, Document)
    text = _texts(document)
    for hidden in ("tracking code", "color: red", "Home", "Log in", "Site banner", "Tip of the day",
                   "Subscribe", "Enable JavaScript", "Copyright", "track()", "Page title"):  # fmt: skip
        assert hidden not in text
    section = next(s for s in document.sections if s.headings == ("Glossary",))
    kinds = [b.kind for b in section.blocks]
    assert kinds == ["para", "list", "table"]
    assert section.blocks[1].lead == "The dome parts are:"
    assert section.blocks[1].items == ["Shutter: the moving panel", "Windscreen: the curtain"]
    assert section.blocks[2].rows == [["Sensor", "Interval"], ["Anemometer", "1 second"]]


def two_column_pdf(path: Path) -> None:
    lines = [Line(72, 730, "Power Systems", 18)]
    for row in range(4):
        lines.append(Line(72, 700 - 13 * row, f"Left column line {row} about the generator."))
        lines.append(Line(320, 700 - 13 * row, f"Right column line {row} about the batteries."))
    lines.append(Line(72, 620, "Loads", 14))
    for index, row in enumerate([["Load", "Power", "Runtime"], ["Dome motors", "22 kW", "45 min"]]):
        for x, cell in zip((72, 230, 400), row, strict=True):
            lines.append(Line(x, 596 - 15 * index, cell))
    write_pdf(path, [lines])


def test_pdf_reads_two_columns_in_order_and_keeps_the_table(tmp_path: Path) -> None:
    path = tmp_path / "power.pdf"
    two_column_pdf(path)
    document = parse_file(path)
    assert isinstance(document, Document) and document.pages == 1
    first = next(s for s in document.sections if s.headings == ("Power Systems",))
    left, right = (b.text for b in first.blocks)
    assert left.startswith("Left column line 0") and "Left column line 3" in left and "Right" not in left
    assert right.startswith("Right column line 0") and "Right column line 3" in right
    table = next(s for s in document.sections if s.headings[-1] == "Loads").blocks[0]
    assert table.rows == [["Load", "Power", "Runtime"], ["Dome motors", "22 kW", "45 min"]]


def test_non_utf8_text_is_decoded_with_a_fallback_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes("Notes\n=====\n\nThe café opens at 10:00 – on Saturdays.\n".encode("cp1252"))
    document = parse_file(path)
    assert isinstance(document, Document)
    assert document.encoding == "cp1252"
    assert "café opens at 10:00 – on Saturdays" in _texts(document)
    assert document.sections[0].headings == ("Notes",)
    assert decode("naïve".encode()) == ("naïve", "utf-8")
    assert decode(b"\xef\xbb\xbfbom") == ("bom", "utf-8")
    assert decode(b"caf\xe9 \x81")[1] == "latin-1"  # 0x81 is undefined in cp1252


def test_unparseable_files_are_listed_with_the_reason_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nThe shutter is a steel panel.\n", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF at all")
    (tmp_path / "slides.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "empty.md").write_text("\n\n", encoding="utf-8")
    documents, failures = parse_folder(tmp_path)
    assert [d.path.name for d in documents] == ["good.md"]
    reasons = {f.path.name: f.reason for f in failures}
    assert set(reasons) == {"broken.pdf", "slides.docx", "empty.md"}
    assert "unsupported file type .docx" in reasons["slides.docx"]
    assert reasons["empty.md"] == "no text found"
    assert reasons["broken.pdf"]
    assert isinstance(parse_file(tmp_path / "broken.pdf"), ParseFailure)
