"""Importers: raw logs (syslog, JSON events, CEF) and plain text into training records.

Each parsed log event yields instruction pairs — summarise the event, classify its severity,
extract its indicators (IPs, users, hashes) as JSON. Lines that parse as none of the formats are
counted and reported with their line numbers, never fatal. Plain text becomes completion chunks.
Summaries and labels are derived from the event's own fields by rules, so every fact in a
response is present in its prompt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.evaluation.hallucination import PATTERNS

SYSLOG = re.compile(
    r"^(?P<time>[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}) (?P<host>[\w.-]+) "
    r"(?P<app>[\w./-]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.+)$"
)
CEF = re.compile(
    r"^(?:.*?\s)?CEF:(?P<version>\d+)\|(?P<vendor>[^|]*)\|(?P<product>[^|]*)\|(?P<pversion>[^|]*)\|"
    r"(?P<sig>[^|]*)\|(?P<name>[^|]*)\|(?P<severity>[^|]*)\|(?P<ext>.*)$"
)
CEF_EXT = re.compile(r"(\w+)=((?:[^=\\]|\\.)*?)(?=\s+\w+=|$)")
SEVERITIES = ("low", "medium", "high", "critical")
RULES = (
    (re.compile(r"/etc/shadow|/etc/sudoers|ransom|mimikatz", re.I), "critical"),
    (re.compile(r"out of memory|malware|brute|exploit|blocked .*attack|denied .*root", re.I), "high"),
    (re.compile(r"failed|invalid user|denied|sudo|error|refused", re.I), "medium"),
)


@dataclass
class LogEvent:
    line: int
    raw: str
    format: str
    host: str
    app: str
    message: str
    severity: str


@dataclass
class ImportReport:
    lines: int = 0
    events: int = 0
    pairs: int = 0
    by_format: dict[str, int] = field(default_factory=dict)
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _severity_from_text(text: str) -> str:
    for pattern, label in RULES:
        if pattern.search(text):
            return label
    return "low"


def _cef_severity(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value.lower() if value.lower() in SEVERITIES else "medium"
    return "low" if number < 4 else "medium" if number < 7 else "high" if number < 9 else "critical"


def parse_line(number: int, line: str) -> LogEvent | None:
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        message = str(data.get("message") or data.get("msg") or data.get("event") or "")
        if not message:
            return None
        level = str(data.get("severity") or data.get("level") or "").lower()
        return LogEvent(
            number,
            text,
            "json",
            str(data.get("host", "unknown")),
            str(data.get("app") or data.get("source") or "app"),
            message,
            level if level in SEVERITIES else _severity_from_text(message),
        )
    match = CEF.match(text)
    if match:
        ext = dict(CEF_EXT.findall(match["ext"]))
        details = " ".join(f"{k}={v}" for k, v in ext.items())
        return LogEvent(
            number,
            text,
            "cef",
            ext.get("dhost", ext.get("dvchost", "unknown")),
            match["product"],
            f"{match['name']} {details}".strip(),
            _cef_severity(match["severity"]),
        )
    match = SYSLOG.match(text)
    if match:
        return LogEvent(
            number,
            text,
            "syslog",
            match["host"],
            match["app"],
            match["message"],
            _severity_from_text(match["message"]),
        )
    return None


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


def import_logs(path: Path) -> tuple[list[dict[str, str]], ImportReport]:
    """Pairs from a log file; malformed lines are counted in the report, never raised."""
    report = ImportReport()
    pairs: list[dict[str, str]] = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        report.lines += 1
        event = parse_line(number, line)
        if event is None:
            report.malformed += 1
            report.malformed_lines.append(number)
            continue
        report.events += 1
        report.by_format[event.format] = report.by_format.get(event.format, 0) + 1
        pairs.extend(event_pairs(event))
    report.pairs = len(pairs)
    return pairs, report


def import_text(path: Path, chunk_chars: int = 1200) -> list[dict[str, str]]:
    """Plain text as completion records, cut at paragraph boundaries near ``chunk_chars``."""
    paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    chunks, current = [], ""
    for paragraph in paragraphs:
        if current and len(current) + len(paragraph) > chunk_chars:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}".strip()
    if current:
        chunks.append(current)
    return [{"text": chunk} for chunk in chunks]
