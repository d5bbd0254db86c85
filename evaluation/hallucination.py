"""Hallucination flags: facts in an output that neither the prompt nor the reference supports.

Extracted kinds: IPv4/IPv6 addresses, hashes (MD5/SHA-1/SHA-256 hex), dates and times, numbers,
user names (after ``user``/``for``/``by``/``account``) and capitalised names. A fact is supported
when the same normalised value appears in the prompt or the reference. Precise on the fact kinds
that matter for logs and records; free prose claims are out of its reach.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PATTERNS: dict[str, re.Pattern[str]] = {
    "ipv4": re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
    "ipv6": re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b"),
    "hash": re.compile(r"\b(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})\b"),
    "date": re.compile(
        r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|"
        r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2})\b"
    ),
    "time": re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b"),
    "user": re.compile(r"\b(?:[sd]?user|for|by|account)[ =:]+([A-Za-z_][\w.-]{1,31})\b", re.IGNORECASE),
    "name": re.compile(r"\b[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})+\b"),
    "number": re.compile(r"(?<![\w.:/-])\d+(?:\.\d+)?(?![\w.:/-])"),
}
_STOP_USERS = {"the", "a", "an", "this", "that", "root@", "invalid", "user"}


@dataclass(frozen=True)
class Fact:
    kind: str
    value: str


def extract_facts(text: str) -> set[Fact]:
    facts: set[Fact] = set()
    covered: list[tuple[int, int]] = []
    for kind in ("ipv4", "hash", "date", "time", "ipv6", "name", "user", "number"):
        for match in PATTERNS[kind].finditer(text):
            span = match.span(1) if kind == "user" else match.span()
            if any(start <= span[0] < end for start, end in covered):
                continue  # the digits of an IP or a date are not separate numbers
            value = match.group(1) if kind == "user" else match.group(0)
            if kind == "user" and value.lower() in _STOP_USERS:
                continue
            covered.append(span)
            facts.add(Fact(kind, value.lower()))
    return facts


def _supported(fact: Fact, source: str, source_facts: set[Fact]) -> bool:
    if any(f.value == fact.value for f in source_facts):
        return True
    # The same value as a whole token anywhere in the source ("3" is not supported by "203.0.113.7").
    return re.search(rf"(?<![\w.:]){re.escape(fact.value)}(?![\w:]|\.\w)", source.lower()) is not None


def unsupported_facts(output: str, prompt: str, reference: str = "") -> list[Fact]:
    """Facts of ``output`` found in neither ``prompt`` nor ``reference``."""
    source = f"{prompt}\n{reference}"
    source_facts = extract_facts(source)
    return sorted(
        (f for f in extract_facts(output) if not _supported(f, source, source_facts)),
        key=lambda f: (f.kind, f.value),
    )
