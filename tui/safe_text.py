"""Untrusted text (dataset rows, model outputs, run messages) made safe to show.

Everything is rendered as a plain :class:`rich.text.Text`, never parsed as markup, and control
characters (escape sequences included) are replaced by their visible ``\\xNN`` spelling
(``ui_core.text.visible``), so a row holding ``[bold red]`` or ``\\x1b[2J`` shows exactly those
characters and changes nothing on screen.
"""

from __future__ import annotations

from rich.text import Text

from openlora.ui_core.text import visible

__all__ = ["literal", "visible"]


def literal(text: str, style: str = "") -> Text:
    """A Text that shows ``text`` literally (no markup, no escapes)."""
    return Text(visible(text), style=style)
