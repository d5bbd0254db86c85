"""Untrusted text on the web page: shown as the characters it holds, never as HTML or Markdown.

What it is for: dataset rows, model outputs and run messages reach the page through text components
(``gr.Textbox``, ``gr.Dataframe`` with ``str`` cells), which the browser shows as text; :func:`plain`
spells out control characters for them. The chat component renders HTML, so :func:`chat_html` also
escapes ``<``, ``>`` and ``&``: a row holding ``<script>alert(1)</script>`` or
``<img src=x onerror=...>`` appears literally and nothing runs.
What it is not for: the TUI (``tui.safe_text``).
"""

from __future__ import annotations

import html

from openlora.ui_core.text import visible


def plain(text: object) -> str:
    """Text for a text component: control characters spelled out."""
    return visible(str(text))


def chat_html(text: object) -> str:
    """Text for the chat component: control characters spelled out, then HTML-escaped."""
    return html.escape(visible(str(text)), quote=False)
