"""Prompt templates, one file per agent step, rendered with every variable checked.

Templates use ``{name}`` placeholders. :func:`render` refuses a missing or an unexpected variable,
so a prompt can never silently lose a piece of context.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources


class PromptError(KeyError):
    """A template was rendered with missing or unexpected variables."""


@cache
def template(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def variables(name: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template(name)) if field}


def render(name: str, **values: object) -> str:
    expected = variables(name)
    missing, extra = expected - set(values), set(values) - expected
    if missing or extra:
        raise PromptError(f"prompt {name!r}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return template(name).format(**values)


def quote_data(text: str, limit: int = 160) -> str:
    """Dataset text as inert data: one line, truncated, in a JSON string (quotes and braces escaped)."""
    import json

    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[:limit] + "…"
    return "DATA " + json.dumps(flat, ensure_ascii=True)
