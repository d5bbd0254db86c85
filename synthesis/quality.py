"""The quality gate for generated (and seed) pairs: duplicates, near-duplicates, length, language, leakage.

Near-duplicates and leakage use MiniLM embeddings (cosine ≥ 0.95 between kept pairs, ≥ 0.90 to
any eval item) besides exact matches of the normalised text; generated pairs must also stay on
the seeds' topic (cosine ≥ 0.45 to some seed). Every dropped pair is counted by
reason, with a few examples, so a person can see what the gate did.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NEAR_DUPLICATE = 0.95
LEAKAGE = 0.90
ON_TOPIC = 0.45
MIN_PROMPT, MAX_PROMPT = 8, 2000
MIN_RESPONSE, MAX_RESPONSE = 1, 2000


@dataclass
class GateReport:
    considered: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def drop(self, reason: str, pair: dict[str, str]) -> None:
        self.dropped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(pair.get("prompt", "")[:120])

    def to_json(self) -> dict[str, Any]:
        return {
            "considered": self.considered,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "examples": self.examples,
        }


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _text(pair: dict[str, str]) -> str:
    return f"{pair['prompt']}\n{pair['response']}"


def looks_like_language(text: str) -> bool:
    """Mostly letters, digits, spaces and punctuation of a Latin script, with at least three words."""
    if not text.strip():
        return False
    ordinary = sum(ch.isascii() or ch.isalpha() for ch in text) / len(text)
    words = re.findall(r"[A-Za-zÀ-ÿ]{2,}", text)
    return ordinary >= 0.9 and len(words) >= 3


def gate(
    candidates: list[dict[str, str]],
    eval_items: list[dict[str, str]],
    existing: list[dict[str, str]],
    report: GateReport,
    near_duplicates: bool = True,
    topic: list[dict[str, str]] | None = None,
) -> list[dict[str, str]]:
    """Pairs of ``candidates`` that pass; ``existing`` pairs count for duplicates but are not re-checked.

    ``near_duplicates=False`` keeps deliberate paraphrases (still refusing exact copies); with
    ``topic``, a pair whose cosine similarity to every topic pair is below ON_TOPIC is dropped.
    """
    from openlora.memory import embedder

    report.considered += len(candidates)
    eval_norm = {normalize(_text(item)) for item in eval_items} | {
        normalize(item["prompt"]) for item in eval_items
    }
    eval_vectors = embedder.embed([_text(item) for item in eval_items])
    seen_norm = {normalize(_text(p)) for p in existing}
    kept_vectors = list(embedder.embed([_text(p) for p in existing])) if existing else []
    candidate_vectors = embedder.embed([_text(p) for p in candidates])
    topic_vectors = embedder.embed([_text(p) for p in topic]) if topic else None
    kept = []
    for pair, vector in zip(candidates, candidate_vectors, strict=True):
        norm = normalize(_text(pair))
        if not (
            MIN_PROMPT <= len(pair["prompt"]) <= MAX_PROMPT
            and MIN_RESPONSE <= len(pair["response"].strip()) <= MAX_RESPONSE
        ):
            report.drop("length", pair)
        elif not looks_like_language(_text(pair)):
            report.drop("language", pair)
        elif (
            norm in eval_norm
            or normalize(pair["prompt"]) in eval_norm
            or (len(eval_vectors) and float(np.max(eval_vectors @ vector)) >= LEAKAGE)
        ):
            report.drop("leakage", pair)
        elif norm in seen_norm:
            report.drop("duplicate", pair)
        elif (
            near_duplicates
            and kept_vectors
            and float(np.max(np.stack(kept_vectors) @ vector)) >= NEAR_DUPLICATE
        ):
            report.drop("near_duplicate", pair)
        elif topic_vectors is not None and float(np.max(topic_vectors @ vector)) < ON_TOPIC:
            report.drop("off_topic", pair)
        else:
            kept.append(pair)
            seen_norm.add(norm)
            kept_vectors.append(vector)
    report.kept += len(kept)
    return kept
