"""Text metrics and the hallucination detector on hand-written cases with known answers."""

from __future__ import annotations

import pytest

from openlora.evaluation.hallucination import extract_facts, unsupported_facts
from openlora.evaluation.text_metrics import exact_match, rouge_l, token_f1


def test_text_metrics():
    assert exact_match("The Severity: High.", "severity high") == 1.0
    assert token_f1("failed login for bob", "failed ssh login for bob") == pytest.approx(2 * 1 * 0.8 / 1.8)
    assert rouge_l("w x y z", "w y z") == pytest.approx(2 * 0.75 * 1 / 1.75)
    assert rouge_l("x y", "a b") == 0.0 and token_f1("", "") == 1.0


PROMPT = "Nov 28 10:11:12 web-01 sshd[2222]: Failed password for bob from 203.0.113.7 port 4444 ssh2"
REFERENCE = "Failed SSH login for bob on web-01 from 203.0.113.7. Severity: high."

# (output, the facts that must be flagged) — the known answers.
CASES = [
    ("Failed SSH login for bob from 203.0.113.7. Severity: high.", set()),
    ("Failed SSH login for bob from 198.51.100.23. Severity: high.", {("ipv4", "198.51.100.23")}),
    ("Failed SSH login for alice from 203.0.113.7.", {("user", "alice")}),
    ("bob logged in on port 4444 at 10:11:12", set()),
    ("bob logged in on port 8080 at 10:11:12", {("number", "8080")}),
    ("Login at 23:59:01 for bob", {("time", "23:59:01")}),
    (
        "File hash d41d8cd98f00b204e9800998ecf8427e seen on web-01",
        {("hash", "d41d8cd98f00b204e9800998ecf8427e")},
    ),
    ("Event on Nov 28 from 203.0.113.7", set()),
    ("Event on 2025-01-03 reported by John Smith", {("date", "2025-01-03"), ("name", "john smith")}),
    (
        "Failed password for bob, 3 attempts from 203.0.113.7 and 10.0.0.5",
        {("number", "3"), ("ipv4", "10.0.0.5")},
    ),
]


def test_hallucination_detector_precision_and_recall():
    true_positive = false_positive = false_negative = 0
    for output, expected in CASES:
        flagged = {(f.kind, f.value) for f in unsupported_facts(output, PROMPT, REFERENCE)}
        true_positive += len(flagged & expected)
        false_positive += len(flagged - expected)
        false_negative += len(expected - flagged)
    precision = true_positive / max(1, true_positive + false_positive)
    recall = true_positive / max(1, true_positive + false_negative)
    print(f"hallucination detector on {len(CASES)} cases: precision {precision:.2f}, recall {recall:.2f}")
    assert precision == 1.0 and recall == 1.0


def test_an_invented_ip_is_flagged_and_a_copied_one_is_not():
    assert [f.value for f in unsupported_facts("attack from 192.0.2.99", PROMPT)] == ["192.0.2.99"]
    assert unsupported_facts("attack from 203.0.113.7", PROMPT) == []
    assert {f.kind for f in extract_facts(PROMPT)} >= {"ipv4", "time", "user", "number", "date"}
