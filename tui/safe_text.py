"""Untrusted text (dataset rows, model outputs, run messages) made safe to show.

Everything is rendered as a plain :class:`rich.text.Text`, never parsed as markup, and control
characters (escape sequences included) are replaced by their visible ``\\xNN`` spelling, so a row
holding ``[bold red]`` or ``\\x1b[2J`` shows exactly those characters and changes nothing on screen.
"""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with every control character except newline and tab spelled out as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))


def literal(text: str, style: str = "") -> Text:
    """A Text that shows ``text`` literally (no markup, no escapes)."""
    return Text(visible(text), style=style)
