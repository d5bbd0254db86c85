"""Untrusted text (dataset rows, model outputs, run messages) with its control characters spelled out.

What it is for: every front shows such text as the characters it holds; :func:`visible` replaces
control characters (escape sequences included, newline and tab kept) by their ``\\xNN`` spelling, so a
row holding ``\\x1b[2J`` shows those characters and clears nothing. The TUI then renders it without
markup (``tui.safe_text``), the web page as text or HTML-escaped (``web.text``).
What it is not for: escaping for one toolkit (each front does its own).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with every control character except newline and tab spelled out as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))
