"""Synthesis from five seed pairs with the embedded model, through the quality gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openlora.advisor.client import Advisor
from openlora.synthesis.generate import synthesize
from openlora.synthesis.quality import GateReport, gate, normalize

PAIRS = [
    json.loads(line)
    for line in (Path(__file__).resolve().parents[2] / "examples" / "siem" / "pairs.jsonl")
    .read_text()
    .splitlines()
]


@pytest.mark.slow
def test_five_seeds_give_valid_deduplicated_pairs_and_the_planted_eval_item_is_caught():
    seeds = [PAIRS[0], PAIRS[4], PAIRS[9], PAIRS[15], PAIRS[22]]
    eval_items = [PAIRS[9], PAIRS[100]]  # PAIRS[9] is planted in the seeds
    result = synthesize(seeds, 8, Advisor(temperature=0.8, max_tokens=200), eval_items)

    assert result.report["seed_leakage"] == 1 and result.report["dropped"]["leakage"] >= 1
    assert 1 <= len(result.pairs) <= 8
    for pair in result.pairs:
        assert set(pair) == {"prompt", "response"} and len(pair["prompt"]) >= 8 and pair["response"].strip()
        assert normalize(pair["prompt"] + pair["response"]) != normalize(
            PAIRS[9]["prompt"] + PAIRS[9]["response"]
        )
    texts = [normalize(p["prompt"] + "\n" + p["response"]) for p in result.pairs]
    assert len(texts) == len(set(texts))
    assert {"considered", "kept", "dropped", "requested", "generated", "augmented"} <= set(result.report)


def test_gate_reasons():
    report = GateReport()
    good = {
        "prompt": "Summarise this security event. sshd failed password for bob",
        "response": "failed login",
    }
    candidates = [
        good,
        dict(good),  # exact duplicate
        {"prompt": "short", "response": "x"},  # length
        {"prompt": "ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ ЖЖЖЖЖ", "response": "ЖЖЖЖ ЖЖЖЖ"},  # language
        {
            "prompt": "Classify the severity of this event: kernel OOM killed java",
            "response": "high",
        },  # leakage
    ]
    eval_items = [
        {"prompt": "Classify the severity of this event: kernel OOM killed java", "response": "high"}
    ]
    kept = gate(candidates, eval_items, [], report)
    assert kept == [good]
    assert dict(report.dropped) == {"duplicate": 1, "length": 1, "language": 1, "leakage": 1}
