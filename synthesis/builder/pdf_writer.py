"""A minimal PDF writer: positioned Helvetica text on Letter pages, for the example corpus and tests.

What it is for: making small, valid PDFs whose layout the reader must undo — headings in a larger
size, body text in two columns, tables as cells at fixed x positions — without a PDF dependency.
Each :class:`Line` is one ``Tj`` at an absolute position (``Td`` from the page origin).
What it is not for: general documents: no fonts beyond the base-14 Helvetica, no wrapping, no
images, ASCII text only (other characters are replaced by ``?``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WIDTH, HEIGHT = 612, 792


@dataclass(frozen=True)
class Line:
    x: float
    y: float
    text: str
    size: float = 10.0


def _escape(text: str) -> str:
    text = text.encode("ascii", "replace").decode("ascii")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(lines: list[Line]) -> bytes:
    ops = [
        f"BT /F1 {line.size:g} Tf 1 0 0 1 {line.x:g} {line.y:g} Tm ({_escape(line.text)}) Tj ET"
        for line in lines
    ]
    return "\n".join(ops).encode("ascii")


def write_pdf(path: Path, pages: list[list[Line]]) -> None:
    """Write ``pages`` (each a list of lines) as a PDF 1.4 file at ``path``."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    font_id = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for lines in pages:
        stream = _content(lines)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_id = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (WIDTH, HEIGHT, content_id, font_id)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken at spaces."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines
