"""The siem pack on small inline samples: auth.log, journald JSON, Suricata EVE, Zeek conn/dns."""

from __future__ import annotations

import json

from openlora.evaluation.hallucination import unsupported_facts
from openlora.packs.siem.importer import import_logs, run
from openlora.packs.siem.lines import parse_line

AUTH = """\
Mar  3 10:01:02 bastion sshd[811]: Failed password for invalid user admin from 192.0.2.7 port 50122 ssh2
2024-03-03T10:01:05.123456+00:00 bastion sshd[812]: Accepted publickey for alice from 192.0.2.8 port 50200 ssh2
Mar  3 10:02:00 bastion sudo:    alice : TTY=pts/1 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update
Mar  3 10:03:00 bastion su[900]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)
Mar  3 10:04:00 bastion sshd[913]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.9  user=root
this line is no log at all
"""  # noqa: E501


def test_auth_log_lines_are_auth_events_with_their_fields(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text(AUTH)
    pairs, report = import_logs(log)
    assert report.events == 5 and report.by_kind == {"auth": 5} and report.malformed_lines == [6]
    events = [parse_line(n, line) for n, line in enumerate(AUTH.splitlines(), 1)][:5]
    assert events[0].fields == {"action": "failed password", "user": "admin",
                                "source_ip": "192.0.2.7", "port": "50122"}  # fmt: skip
    assert events[1].fields["action"] == "accepted login" and events[1].host == "bastion"
    assert events[2].fields == {"action": "sudo command", "user": "alice", "target_user": "root",
                                     "command": "/usr/bin/apt update"}  # fmt: skip
    assert events[3].fields["action"] == "session opened" and events[3].fields["target_user"] == "root"
    assert events[4].fields["action"] == "authentication failure" and events[4].severity == "medium"
    assert all(unsupported_facts(p["response"], p["prompt"]) == [] for p in pairs)


def test_journald_json_export(tmp_path):
    rows = [
        {"MESSAGE": "Failed password for bob from 198.51.100.4 port 4242 ssh2", "_HOSTNAME": "web-9",
         "SYSLOG_IDENTIFIER": "sshd", "PRIORITY": "6", "__REALTIME_TIMESTAMP": "1709460000000000"},
        {"MESSAGE": [104, 105, 255], "_HOSTNAME": "web-9", "SYSLOG_IDENTIFIER": "kernel", "PRIORITY": "2"},
        {"MESSAGE": "", "_HOSTNAME": "web-9"},
    ]  # fmt: skip
    log = tmp_path / "journal.json"
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    _, report = import_logs(log)
    assert report.by_format == {"journald": 2} and report.malformed_lines == [3]
    first, second = (parse_line(i + 1, json.dumps(r)) for i, r in enumerate(rows[:2]))
    assert (first.host, first.app, first.kind, first.fields["user"]) == ("web-9", "sshd", "auth", "bob")
    assert second.severity == "critical" and second.message.startswith("hi")


def test_suricata_eve_and_zeek(tmp_path):
    rows = [
        {"timestamp": "2024-03-03T10:00:00.000000+0000", "flow_id": 1, "event_type": "alert",
         "src_ip": "203.0.113.5", "src_port": 4444, "dest_ip": "10.0.0.2", "dest_port": 22, "proto": "TCP",
         "alert": {"signature": "ET SCAN SSH brute force", "severity": 1, "category": "Attempted Recon"}},
        {"event_type": "dns", "src_ip": "10.0.0.3", "dest_ip": "10.0.0.53", "proto": "UDP",
         "dns": {"type": "query", "rrname": "example.org", "rrtype": "A"}},
        {"event_type": "http", "src_ip": "10.0.0.3", "dest_ip": "10.0.0.80", "proto": "TCP",
         "http": {"hostname": "intranet", "url": "/login", "http_method": "POST", "status": 401}},
        {"event_type": "flow", "src_ip": "10.0.0.3", "dest_ip": "10.0.0.80", "proto": "TCP",
         "flow": {"pkts_toserver": 3, "bytes_toserver": 180, "state": "closed"}},
        {"ts": 1709460000.1, "uid": "C1", "id.orig_h": "10.0.0.3", "id.orig_p": 5353, "id.resp_h": "10.0.0.9",
         "id.resp_p": 443, "proto": "tcp", "service": "ssl", "conn_state": "REJ"},
        {"ts": 1709460000.2, "uid": "C2", "id": {"orig_h": "10.0.0.3", "orig_p": 5000, "resp_h": "10.0.0.53",
         "resp_p": 53}, "query": "evil.example", "qtype_name": "A", "answers": ["192.0.2.66"]},
    ]  # fmt: skip
    log = tmp_path / "eve.json"
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n{truncated\n")
    pairs, report = run(log)
    assert report.counts == {"suricata": 4, "zeek": 2} and report.skipped == [("7", "no known log format")]
    events = [parse_line(i + 1, json.dumps(r)) for i, r in enumerate(rows)]
    assert [e.kind for e in events] == ["alert", "dns", "http", "flow", "conn", "dns"]
    assert events[0].severity == "high" and "ET SCAN SSH brute force" in events[0].message
    assert "TCP 203.0.113.5:4444 -> 10.0.0.2:22" in events[0].message
    assert "example.org" in events[1].message and "status 401" in events[2].message
    assert events[4].severity == "medium" and "10.0.0.3:5353 -> 10.0.0.9:443" in events[4].message
    assert "evil.example" in events[5].message and events[5].fields["resp_h"] == "10.0.0.53"
    assert len(pairs) == 18 and all(unsupported_facts(p["response"], p["prompt"]) == [] for p in pairs)
