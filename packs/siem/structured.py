"""JSON events with a known structure: journald (``journalctl -o json``), Suricata EVE and Zeek logs.

What it is for: recognising a decoded JSON object by its keys — journald by ``MESSAGE`` with its
``_HOSTNAME`` / ``SYSLOG_IDENTIFIER`` / ``PRIORITY`` / ``__REALTIME_TIMESTAMP`` fields, Suricata by
``event_type`` with ``src_ip`` or ``flow_id``, Zeek by ``id.orig_h`` (flat or nested ``id``) — and
turning it into a :class:`~openlora.packs.siem.events.LogEvent` whose message is built only from the
object's own values. Event types that are not named here still parse, with their addresses.
What it is not for: generic ``{"message": …}`` JSON or text lines (``lines``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from openlora.packs.siem.auth import FAILURES, auth_fields
from openlora.packs.siem.events import LogEvent, at_least, severity_from_text

JOURNALD_KEYS = {"_HOSTNAME", "SYSLOG_IDENTIFIER", "PRIORITY", "__REALTIME_TIMESTAMP", "_SYSTEMD_UNIT"}
# journald PRIORITY is the syslog level: 0 emerg … 7 debug.
PRIORITY_SEVERITY = {0: "critical", 1: "critical", 2: "critical", 3: "high", 4: "medium"}
# Suricata alert.severity: 1 is the most severe.
SURICATA_SEVERITY = {1: "high", 2: "medium", 3: "low", 4: "low"}


def _text(value: Any) -> str:
    """journald writes a non-UTF-8 MESSAGE as a list of byte values."""
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def journald(number: int, raw: str, data: dict[str, Any]) -> LogEvent | None:
    message = _text(data.get("MESSAGE")).strip()
    if not message:
        return None
    app = str(data.get("SYSLOG_IDENTIFIER") or data.get("_COMM") or data.get("_SYSTEMD_UNIT") or "journal")
    severity = severity_from_text(message)
    with contextlib.suppress(TypeError, ValueError):
        severity = at_least(severity, PRIORITY_SEVERITY.get(int(data.get("PRIORITY", 6)), "low"))
    fields = auth_fields(app, message) or {}
    if fields.get("action") in FAILURES:
        severity = at_least(severity, "medium")
    host = str(data.get("_HOSTNAME", "unknown"))
    return LogEvent(number, raw, "journald", host, app, message, severity, "auth" if fields else "", fields)


def _addresses(data: dict[str, Any]) -> str:
    src, dst = data.get("src_ip"), data.get("dest_ip")
    if src is None and dst is None:
        return ""
    sport, dport = data.get("src_port"), data.get("dest_port")
    left = f"{src}:{sport}" if sport is not None else str(src)
    right = f"{dst}:{dport}" if dport is not None else str(dst)
    proto = f"{data['proto']} " if data.get("proto") else ""
    return f"{proto}{left} -> {right}"


def _suricata_detail(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """(what happened, severity) for one EVE event type."""
    body = data.get(kind) if isinstance(data.get(kind), dict) else {}
    if kind == "alert":
        label = (
            SURICATA_SEVERITY.get(body.get("severity"), "medium")
            if isinstance(body.get("severity"), int)
            else "medium"
        )
        category = f" ({body['category']})" if body.get("category") else ""
        action = f", {body['action']}" if body.get("action") else ""
        return f"alert {body.get('signature', 'unnamed')}{category}{action}", label
    if kind == "dns":
        queries = body.get("queries") if isinstance(body.get("queries"), list) else [body]
        names = [str(q.get("rrname")) for q in queries if isinstance(q, dict) and q.get("rrname")]
        rrtype = f" {body['rrtype']}" if body.get("rrtype") else ""
        return f"dns {body.get('type', 'query')}{rrtype} {', '.join(names) or '?'}".rstrip(), "low"
    if kind == "http":
        status = f" status {body['status']}" if body.get("status") is not None else ""
        method, host, url = body.get("http_method", ""), body.get("hostname", ""), body.get("url", "")
        text = f"http {method} {host}{url}{status}"
        return text, severity_from_text(text)
    if kind == "flow":
        parts = [f"{k} {body[k]}" for k in ("pkts_toserver", "bytes_toserver", "state") if k in body]
        return f"flow {' '.join(parts)}".rstrip(), "low"
    if kind == "tls" and body.get("sni"):
        return f"tls sni {body['sni']}", "low"
    return kind, "low"


def suricata(number: int, raw: str, data: dict[str, Any]) -> LogEvent:
    kind = str(data["event_type"])
    detail, severity = _suricata_detail(kind, data)
    addresses = _addresses(data)
    message = f"{detail} {addresses}".strip()
    host = str(data.get("host") or data.get("in_iface") or data.get("dest_ip") or "unknown")
    fields = {k: str(data[k]) for k in ("src_ip", "src_port", "dest_ip", "dest_port", "proto") if k in data}
    return LogEvent(number, raw, "suricata", host, "suricata", message, severity, kind, fields)


def _zeek_id(data: dict[str, Any]) -> dict[str, Any]:
    nested = data.get("id") if isinstance(data.get("id"), dict) else {}
    return {k: data.get(f"id.{k}", nested.get(k)) for k in ("orig_h", "orig_p", "resp_h", "resp_p")}


def _zeek_kind(data: dict[str, Any]) -> tuple[str, str]:
    """(log type, what happened) recognised by the log's own columns."""
    if "query" in data:
        answers = data.get("answers")
        shown = f" answers {', '.join(map(str, answers))}" if isinstance(answers, list) and answers else ""
        return "dns", f"dns query {data['query']} {data.get('qtype_name', '')}".rstrip() + shown
    if "method" in data or "uri" in data:
        status = f" status {data['status_code']}" if data.get("status_code") is not None else ""
        return "http", f"http {data.get('method', '')} {data.get('host', '')}{data.get('uri', '')}{status}"
    if "server_name" in data or "cipher" in data:
        return "ssl", f"ssl {data.get('version', '')} server {data.get('server_name', '?')}".replace(
            "  ", " "
        )
    if "conn_state" in data or "duration" in data or "proto" in data:
        state = f" state {data['conn_state']}" if data.get("conn_state") else ""
        service = f" service {data['service']}" if data.get("service") else ""
        return "conn", f"conn {data.get('proto', '')}{service}{state}".replace("  ", " ")
    return str(data.get("_path", "zeek")), str(data.get("_path", "zeek event"))


def zeek(number: int, raw: str, data: dict[str, Any]) -> LogEvent:
    ids = _zeek_id(data)
    kind, detail = _zeek_kind(data)
    route = f"{ids['orig_h']}:{ids['orig_p']} -> {ids['resp_h']}:{ids['resp_p']}" if ids["orig_h"] else ""
    message = f"{detail} {route}".strip()
    severity = severity_from_text(message)
    if kind == "conn" and data.get("conn_state") in {"REJ", "S0", "RSTO", "RSTR"}:
        severity = at_least(severity, "medium")
    fields = {k: str(v) for k, v in ids.items() if v is not None}
    host = str(ids["resp_h"] or "unknown")
    return LogEvent(number, raw, "zeek", host, "zeek", message, severity, kind, fields)


def structured(number: int, raw: str, data: dict[str, Any]) -> LogEvent | None:
    """The event of a JSON object of a known structure; None when it is not one of them."""
    if "MESSAGE" in data and JOURNALD_KEYS & set(data):
        return journald(number, raw, data)
    if isinstance(data.get("event_type"), str) and ("src_ip" in data or "flow_id" in data):
        return suricata(number, raw, data)
    if "id.orig_h" in data or (isinstance(data.get("id"), dict) and "orig_h" in data["id"]):
        return zeek(number, raw, data)
    return None
