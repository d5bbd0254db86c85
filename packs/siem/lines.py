"""One log line → one event: JSON (generic or structured), CEF, BSD syslog, ISO-time syslog, RFC 5424.

What it is for: :func:`parse_line`, which tries the formats by structure, never by sample content,
and returns None for a line it cannot read (the importer counts it with its line number). Syslog
lines from sshd, sudo, su and PAM (auth.log) carry their authentication fields as the ``auth`` kind.
What it is not for: making pairs (``events``) or reading files (``importer``).
"""

from __future__ import annotations

import json
import re

from openlora.packs.siem.auth import FAILURES, auth_fields
from openlora.packs.siem.events import SEVERITIES, LogEvent, at_least, severity_from_text
from openlora.packs.siem.structured import structured

_ENVELOPE = r" (?P<host>[\w.:-]+) (?P<app>[\w./-]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.+)$"
SYSLOG = re.compile(r"^(?:<\d{1,3}>)?(?P<time>[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2})" + _ENVELOPE)
ISO_SYSLOG = re.compile(r"^(?:<\d{1,3}>)?(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)" + _ENVELOPE)  # fmt: skip  # noqa: E501
RFC5424 = re.compile(
    r"^<\d{1,3}>1 (?P<time>\S+) (?P<host>\S+) (?P<app>\S+) (?P<pid>\S+) \S+ (?:-|(?:\[.*?\])+) ?(?P<message>.+)$"  # noqa: E501
)
CEF = re.compile(
    r"^(?:.*?\s)?CEF:(?P<version>\d+)\|(?P<vendor>[^|]*)\|(?P<product>[^|]*)\|(?P<pversion>[^|]*)\|"
    r"(?P<sig>[^|]*)\|(?P<name>[^|]*)\|(?P<severity>[^|]*)\|(?P<ext>.*)$"
)
CEF_EXT = re.compile(r"(\w+)=((?:[^=\\]|\\.)*?)(?=\s+\w+=|$)")


def _cef_severity(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value.lower() if value.lower() in SEVERITIES else "medium"
    return "low" if number < 4 else "medium" if number < 7 else "high" if number < 9 else "critical"


def _json_event(number: int, text: str) -> LogEvent | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    known = structured(number, text, data)
    if known is not None:
        return known
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
        level if level in SEVERITIES else severity_from_text(message),
    )


def _cef_event(number: int, text: str, match: re.Match[str]) -> LogEvent:
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


def _syslog_event(number: int, text: str, match: re.Match[str]) -> LogEvent:
    app, message = match["app"], match["message"]
    severity = severity_from_text(message)
    fields = auth_fields(app, message)
    if fields and fields["action"] in FAILURES:
        severity = at_least(severity, "medium")
    return LogEvent(
        number, text, "syslog", match["host"], app, message, severity, "auth" if fields else "", fields or {}
    )


def parse_line(number: int, line: str) -> LogEvent | None:
    """The event on one line, or None when the line is empty or in no known format."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("{"):
        return _json_event(number, text)
    match = CEF.match(text)
    if match:
        return _cef_event(number, text, match)
    for pattern in (SYSLOG, ISO_SYSLOG, RFC5424):
        match = pattern.match(text)
        if match:
            return _syslog_event(number, text, match)
    return None
