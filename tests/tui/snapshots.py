"""SVG snapshots of TUI screens, compared exactly with the files in ``tests/tui/snapshots/``.

``OPENLORA_UPDATE_SNAPSHOTS=1 make test`` (or pytest) rewrites them; review the SVGs before
committing. On a mismatch the new rendering is written beside the expected one as
``NAME.actual.svg`` (git-ignored) so the two can be opened side by side.

Text inputs blink their cursor every 0.5 s, so a screenshot taken at an unlucky moment (a slow
machine, a loaded CI runner) differs from the snapshot; ``assert_screen`` stops the blinking, with
the cursor shown, before it takes the screenshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

FOLDER = Path(__file__).parent / "snapshots"


async def assert_screen(pilot: Pilot, name: str) -> None:
    """Let the screen settle with every input's cursor steady and shown, then compare it."""
    await pilot.pause(0.3)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause(0.1)
    assert_snapshot(pilot.app.export_screenshot(), name)


def assert_snapshot(svg: str, name: str) -> None:
    expected = FOLDER / f"{name}.svg"
    actual = FOLDER / f"{name}.actual.svg"
    if os.environ.get("OPENLORA_UPDATE_SNAPSHOTS") == "1":
        FOLDER.mkdir(exist_ok=True)
        expected.write_text(svg, encoding="utf-8")
        actual.unlink(missing_ok=True)
        return
    if not expected.is_file():
        pytest.fail(f"no snapshot {expected}; create it with OPENLORA_UPDATE_SNAPSHOTS=1")
    if expected.read_text(encoding="utf-8") != svg:
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"screen differs from {expected}; the new rendering is in {actual}")
    actual.unlink(missing_ok=True)
