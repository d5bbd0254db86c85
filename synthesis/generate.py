"""Synthesizing training pairs from a few examples, with the advisor model under a JSON schema.

Each new pair is one constrained generation: a few seed pairs are shown as quoted data (in the
``prompts/synthesize.txt`` template) and the model must answer ``{"prompt": …, "response": …}``
with bounded lengths. Safe deterministic augmentation adds rephrased instructions for known task
templates and key-reordered JSON records. Everything (seeds included) goes through the quality
gate; seeds that match an eval item are reported as leakage and left out.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from openlora.advisor.client import Advisor
from openlora.prompts import quote_data, render
from openlora.synthesis.quality import GateReport, gate

SCHEMA = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "minLength": 8, "maxLength": 300},
        "response": {"type": "string", "minLength": 1, "maxLength": 300},
    },
    "required": ["prompt", "response"],
    "additionalProperties": False,
}
REPHRASINGS = {
    "Summarise this": ["Give a short summary of this", "Summarize this", "Briefly describe this"],
    "Classify the severity of this": ["Rate the severity of this", "How severe is this"],
    "Extract the indicators": ["List the indicators", "Pull out the indicators"],
}


@dataclass
class SynthResult:
    pairs: list[dict[str, str]]
    report: dict[str, Any]


def rephrase(pair: dict[str, str]) -> list[dict[str, str]]:
    """Templated rephrasings of known instruction openings (the response is unchanged)."""
    out = []
    for opening, alternatives in REPHRASINGS.items():
        if pair["prompt"].startswith(opening):
            out += [
                {"prompt": alt + pair["prompt"][len(opening) :], "response": pair["response"]}
                for alt in alternatives
            ]
    return out


def reorder_json_fields(pair: dict[str, str]) -> list[dict[str, str]]:
    """For prompts carrying a JSON record on a line, the same record with its keys in reverse order."""
    lines = pair["prompt"].splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and len(record) > 1:
                reordered = json.dumps(dict(reversed(list(record.items()))))
                return [
                    {
                        "prompt": "\n".join([*lines[:index], reordered, *lines[index + 1 :]]),
                        "response": pair["response"],
                    }
                ]
    return []


def _generation_prompt(examples: list[dict[str, str]]) -> str:
    """The ``synthesize`` prompt with ``examples`` quoted as data (the template's final newline dropped)."""
    shown = "\n".join(
        f"- prompt {quote_data(e['prompt'], 240)}\n  response {quote_data(e['response'], 240)}"
        for e in examples
    )
    return render("synthesize", examples=shown).removesuffix("\n")


def synthesize(
    seeds: list[dict[str, str]],
    n: int,
    advisor: Advisor,
    eval_items: list[dict[str, str]] | None = None,
    seed: int = 0,
    max_tries_factor: int = 3,
) -> SynthResult:
    """Up to ``n`` new pairs that pass the quality gate, plus what was dropped and why."""
    eval_items = eval_items or []
    report = GateReport()
    clean_seeds = gate(seeds, eval_items, [], report)
    leaked_seeds = report.dropped.get("leakage", 0)
    rng = random.Random(seed)
    kept: list[dict[str, str]] = []
    augmented = [a for s in clean_seeds for a in rephrase(s) + reorder_json_fields(s)]
    rng.shuffle(augmented)
    kept += gate(augmented, eval_items, clean_seeds, report, near_duplicates=False)[:n]
    generated = invalid = 0
    tries = 0
    while len(kept) < n and tries < n * max_tries_factor and clean_seeds:
        tries += 1
        examples = rng.sample(clean_seeds, k=min(3, len(clean_seeds)))
        advisor.seed = seed + tries
        raw = advisor.complete_json([{"role": "user", "content": _generation_prompt(examples)}], SCHEMA)
        generated += 1
        try:
            pair = json.loads(raw)
            if not isinstance(pair, dict) or set(pair) != {"prompt", "response"}:
                raise ValueError("wrong keys")
            pair = {"prompt": str(pair["prompt"]).strip(), "response": str(pair["response"]).strip()}
        except ValueError:
            invalid += 1
            report.dropped["invalid"] += 1
            continue
        kept += gate([pair], eval_items, clean_seeds + kept, report, topic=clean_seeds)
    summary = report.to_json() | {
        "requested": n,
        "seeds": len(seeds),
        "seed_leakage": leaked_seeds,
        "augmented": len(augmented),
        "generated": generated,
        "invalid": invalid,
        "returned": len(kept[:n]),
    }
    return SynthResult(kept[:n], summary)


def read_pairs(path: Any) -> list[dict[str, str]]:
    from pathlib import Path

    from openlora.trainer.data_files import ColumnMap, read_records

    records = read_records(Path(path), ColumnMap())
    return [{"prompt": r.prompt, "response": r.response} for r in records if r.kind == "pair"]
