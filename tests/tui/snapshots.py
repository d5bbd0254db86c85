"""SVG snapshots of TUI screens, compared exactly with the files in ``tests/tui/snapshots/``.

``OPENLORA_UPDATE_SNAPSHOTS=1 make test`` (or pytest) rewrites them; review the SVGs before
committing. On a mismatch the new rendering is written beside the expected one as
``NAME.actual.svg`` (git-ignored) so the two can be opened side by side.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FOLDER = Path(__file__).parent / "snapshots"


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
