"""A parsed security event and the instruction pairs made from it (summary, severity, indicators).

What it is for: :class:`LogEvent`, the severity rules, :func:`indicators`, :func:`summary` and
:func:`event_pairs`. Summaries and labels are derived from the event's own fields by rules, so every
fact in a response is present in its prompt.
What it is not for: recognising a line's format (``lines``, ``auth``, ``structured``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from openlora.evaluation.hallucination import PATTERNS

SEVERITIES = ("low", "medium", "high", "critical")
RULES = (
    (re.compile(r"/etc/shadow|/etc/sudoers|ransom|mimikatz", re.I), "critical"),
    (re.compile(r"out of memory|malware|brute|exploit|blocked .*attack|denied .*root", re.I), "high"),
    (re.compile(r"failed|invalid user|denied|sudo|error|refused", re.I), "medium"),
)


@dataclass
class LogEvent:
    """One event: the line it came from, its format (syslog, json, cef, journald, suricata, zeek)."""

    line: int
    raw: str
    format: str
    host: str
    app: str
    message: str
    severity: str
    kind: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def severity_from_text(text: str) -> str:
    for pattern, label in RULES:
        if pattern.search(text):
            return label
    return "low"


def at_least(label: str, floor: str) -> str:
    """The more severe of two labels."""
    return max(label, floor, key=SEVERITIES.index)


def indicators(text: str) -> dict[str, list[str]]:
    users = sorted(
        {m.group(1) for m in PATTERNS["user"].finditer(text) if m.group(1).lower() not in {"invalid"}}
    )
    return {
        "ips": sorted(set(PATTERNS["ipv4"].findall(text))),
        "users": users,
        "hashes": sorted({h.lower() for h in PATTERNS["hash"].findall(text)}),
    }


def summary(event: LogEvent) -> str:
    found = indicators(event.raw)
    parts = [f"{event.app} on {event.host}: {event.message.rstrip('.')}"]
    if found["ips"]:
        parts.append(f"source {', '.join(found['ips'])}")
    return "; ".join(parts) + f". Severity: {event.severity}."


def event_pairs(event: LogEvent) -> list[dict[str, str]]:
    return [
        {"prompt": f"Summarise this security event.\n{event.raw}", "response": summary(event)},
        {
            "prompt": f"Classify the severity of this event as low, medium, high or critical.\n{event.raw}",
            "response": event.severity,
        },
        {
            "prompt": f"Extract the indicators (IPs, users, hashes) from this event as JSON.\n{event.raw}",
            "response": json.dumps(indicators(event.raw), sort_keys=True),
        },
    ]
