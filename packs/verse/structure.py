"""The verse pack's evaluation check: does an output keep the line structure of the poem it continues?

What it is for: :func:`line_structure`, a pack check ``(prompt, output) -> bool``: the output must be
broken into lines when the prompt's poem is, with a line count and a mean line length near the
prompt's stanzas (within a factor of :data:`FACTOR`), and :func:`shape`, the figures it compares.
What it is not for: judging imagery, rhyme or metre.
"""

from __future__ import annotations

from statistics import mean

FACTOR = 2.0


def shape(text: str) -> tuple[float, float]:
    """(mean lines per stanza, mean characters per line) of a poem's text."""
    stanzas = [s for s in text.strip().split("\n\n") if s.strip()]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not stanzas or not lines:
        return 0.0, 0.0
    return mean(len([x for x in s.splitlines() if x.strip()]) for s in stanzas), mean(map(len, lines))


def _near(value: float, reference: float) -> bool:
    return reference / FACTOR <= value <= reference * FACTOR


def line_structure(prompt: str, output: str) -> bool:
    """The output's stanzas and lines are shaped like the prompt's poem (its text after the first line)."""
    poem = prompt.split("\n", 1)[1] if "\n" in prompt else prompt
    want_lines, want_length = shape(poem)
    got_lines, got_length = shape(output)
    if want_lines == 0 or got_lines == 0:
        return False
    if want_lines >= 2 and got_lines < 2:
        return False
    return _near(got_lines, want_lines) and _near(got_length, want_length)
