"""The SIEM importer on the shipped log sample, and plain-text chunking."""

from __future__ import annotations

import json
from pathlib import Path

from openlora.evaluation.hallucination import unsupported_facts
from openlora.synthesis.importers import import_logs, import_text

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "siem" / "sample.log"


def test_shipped_sample_becomes_pairs_and_malformed_lines_are_reported():
    pairs, report = import_logs(SAMPLE)
    assert report.by_format == {"syslog": 60, "json": 20, "cef": 10}
    assert report.malformed == 3 and report.malformed_lines == [18, 46, 71]
    assert report.pairs == len(pairs) == 3 * report.events
    severities = [p["response"] for p in pairs if p["prompt"].startswith("Classify")]
    assert set(severities) <= {"low", "medium", "high", "critical"} and len(set(severities)) >= 3
    for pair in pairs:
        if pair["prompt"].startswith("Extract"):
            assert set(json.loads(pair["response"])) == {"ips", "users", "hashes"}
        # every fact in a generated response is present in its prompt
        assert unsupported_facts(pair["response"], pair["prompt"]) == [], pair


def test_garbage_never_crashes_the_importer(tmp_path):
    log = tmp_path / "mixed.log"
    log.write_bytes(b"\xff\xfe garbage\n{not json}\n[1,2]\nCEF:0|x\n\nNov 28 10:00:00 h app: ok done\n")
    pairs, report = import_logs(log)
    assert report.malformed == 4 and report.events == 1 and len(pairs) == 3


def test_plain_text_becomes_completion_chunks(tmp_path):
    text = tmp_path / "poems.txt"
    text.write_text("\n\n".join(f"Poem {i}\n" + "line of verse " * 30 for i in range(10)), encoding="utf-8")
    records = import_text(text, chunk_chars=1000)
    assert len(records) > 2 and all(set(r) == {"text"} and len(r["text"]) <= 1500 for r in records)
