"""Writes docs/power-systems.pdf, the handbook's power systems appendix: two columns and a table a page.

What it is for: regenerating the committed PDF of the example corpus (``python
examples/handbook/make_pdf.py``) with the project's minimal writer, so the PDF reader has a real
two-column layout to undo. What it is not for: anything the product runs.
"""

from __future__ import annotations

from pathlib import Path

from openlora.synthesis.builder.pdf_writer import Line, wrap, write_pdf

HERE = Path(__file__).resolve().parent
PAGES = [
    {
        "title": "Power Systems Appendix",
        "left": [
            "The power house is a concrete building 60 metres north of the dome that holds the generator, "
            "the battery bank, the cryocooler and the Ledger. Mains power reaches the ridge on a single "
            "cable from the valley.",
            "The generator is a 250 kilowatt diesel generator that starts by itself within 30 seconds of a "
            "mains failure. Its tank holds fuel for four days of full load.",
        ],
        "right": [
            "The battery bank is the set of lithium batteries that feeds the uninterruptible power supply. "
            "It can run the control room, the Ledger and the dome motors for 45 minutes.",
            "The uninterruptible power supply is the unit that switches the site to the battery bank "
            "without a break when mains power fails, until the generator takes the load.",
        ],
        "table_title": "Loads on the uninterruptible power supply",
        "table": [
            ["Load", "Power", "Runtime on batteries"],
            ["Dome motors", "22 kilowatts", "45 minutes"],
            ["Control room", "6 kilowatts", "3 hours"],
            ["Ledger", "4 kilowatts", "5 hours"],
        ],
    },
    {
        "title": "Cooling",
        "left": [
            "The cryocooler is a closed-cycle helium cooler that chills the Kestrel detector, the Wren "
            "detector and the glycol loop of the mirror cooling system. It draws 9 kilowatts.",
            "The cryocooler runs on the generator during a power failure but not on the battery bank, so "
            "the detectors warm slowly until the generator takes the load.",
        ],
        "right": [
            "The glycol loop is a pipe circuit filled with a water and glycol mix that carries heat away "
            "from the primary mirror of the Marrow Telescope.",
            "The site technician checks the glycol pressure every afternoon; the pressure must stay between "
            "2 and 3 bar.",
        ],
        "table_title": "Cooling limits",
        "table": [
            ["Item", "Normal", "Alarm"],
            ["Kestrel detector", "minus 110 degrees Celsius", "minus 100 degrees Celsius"],
            ["Wren detector", "minus 90 degrees Celsius", "minus 80 degrees Celsius"],
            ["Glycol pressure", "2 to 3 bar", "below 1.5 bar"],
        ],
    },
]


def page_lines(page: dict) -> list[Line]:
    lines = [Line(72, 730, page["title"], 18)]
    bottom = 700.0
    for x, paragraphs in ((72, page["left"]), (320, page["right"])):
        y = 700.0
        for paragraph in paragraphs:
            for text in wrap(paragraph, 44):
                lines.append(Line(x, y, text))
                y -= 13
            y -= 13  # a blank line between paragraphs
        bottom = min(bottom, y)
    y = bottom - 20
    lines.append(Line(72, y, page["table_title"], 14))
    y -= 24
    for row in page["table"]:
        for x, cell in zip((72, 230, 400), row, strict=True):
            lines.append(Line(x, y, cell))
        y -= 15
    return lines


if __name__ == "__main__":
    write_pdf(HERE / "docs" / "power-systems.pdf", [page_lines(p) for p in PAGES])
