"""The builder's filters: grounding in the source chunks, near-duplicates and eval leakage.

What it is for: deciding which candidates become training pairs, with a count and a few examples
for every reason a candidate was dropped —
- ``unsupported_fact``: a fact of the answer (number, date, time, address, capitalised name…, the
  hallucination detector ``evaluation.hallucination.unsupported_facts``) is in none of its chunks;
- ``ungrounded_words``: under :data:`MIN_WORD_SUPPORT` of the answer's content words (not stop
  words, not words of the question) appear in its chunks — catches invented prose the fact
  patterns cannot see;
- for an answer the model wrote (a summary): ``truncated`` when it does not end as a sentence ends
  (cut by the schema's length bound), ``unsupported_phrasing`` when a sentence has under
  :data:`MIN_PHRASE_SUPPORT` of its adjacent word pairs side by side in the chunks — true words
  stitched into a false claim ("scaled to a perfect pixel read 1");
- ``length`` / ``language``: the quality gate's bounds (``synthesis.quality``);
- ``leakage``: the same normalised prompt or pair as an eval pair, or MiniLM cosine ≥ :data:`LEAKAGE`
  to one; ``duplicate`` / ``near_duplicate``: the same normalised pair, or cosine ≥
  :data:`NEAR_DUPLICATE` to a pair kept before it (prompt and response embedded together) whose answer
  carries every fact (number, name, …) this one carries — pairs that differ in a fact are kept.
What it is not for: judging whether a true answer is a *good* one, or free-prose claims beyond word
overlap.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from openlora.evaluation.hallucination import extract_facts, unsupported_facts
from openlora.synthesis.builder.chunking import sentences
from openlora.synthesis.builder.questions import Candidate
from openlora.synthesis.quality import MAX_PROMPT, MAX_RESPONSE, MIN_PROMPT, looks_like_language, normalize

NEAR_DUPLICATE = 0.92
LEAKAGE = 0.90
MIN_WORD_SUPPORT = 0.8
MIN_PHRASE_SUPPORT = 0.9
MODEL_WRITTEN_ANSWERS = frozenset(["model_summary"])  # origins whose answer the model wrote
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "which",
        "what",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "do",
        "does",
        "did",
        "not",
        "no",
        "can",
        "may",
        "must",
        "should",
        "will",
        "would",
        "one",
        "includes",
        "include",
        "including",
        "also",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "part",
        "things",
    ]
)
WORD = re.compile(r"[a-z][a-z'-]+")


@dataclass
class DropLog:
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def drop(self, reason: str, candidate: Candidate) -> None:
        self.dropped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(f"{candidate.prompt[:100]} → {candidate.response[:100]}")

    def to_json(self) -> dict[str, Any]:
        return {"dropped": dict(self.dropped), "examples": self.examples}


def _stem(word: str) -> str:
    return re.sub(r"(?:'s|ies|es|s|ed|ing)$", "", word) or word


def word_support(answer: str, source: str, question: str = "") -> float:
    """The share of the answer's content words (stemmed) found in ``source``; 1.0 when it has none."""
    given = {_stem(w) for w in WORD.findall(question.lower())}
    words = [_stem(w) for w in WORD.findall(answer.lower()) if w not in STOP]
    words = [w for w in words if w not in given]
    if not words:
        return 1.0
    found = {_stem(w) for w in WORD.findall(source.lower())}
    return sum(w in found for w in words) / len(words)


def _word_pairs(text: str) -> list[tuple[str, str]]:
    words = re.findall(r"[\w'-]+", text.lower())
    return list(pairwise(words))


def phrase_support(sentence: str, known: set[tuple[str, str]]) -> float:
    """The share of ``sentence``'s adjacent word pairs among ``known`` (the source's, ``_word_pairs``):
    1.0 for a copied sentence, lower for words of the source recombined into a new claim."""
    pairs = _word_pairs(sentence)
    if not pairs:
        return 1.0
    return sum(pair in known for pair in pairs) / len(pairs)


def _model_answer_problem(answer: str, source: str) -> str | None:
    """A model-written answer must end as a sentence ends and say each sentence nearly as the source
    says it (:data:`MIN_PHRASE_SUPPORT`): a small model's summaries stitch true words into false claims."""
    if not answer.rstrip().endswith((".", "!", "?")):
        return "truncated"
    known = set(_word_pairs(source))
    if any(phrase_support(s, known) < MIN_PHRASE_SUPPORT for s in sentences(answer)):
        return "unsupported_phrasing"
    return None


def grounding_problem(candidate: Candidate, source: str) -> str | None:
    """Why ``candidate``'s answer is not grounded in ``source`` (its chunks' text), or None."""
    if unsupported_facts(candidate.response, source):
        return "unsupported_fact"
    if word_support(candidate.response, source, candidate.prompt) < MIN_WORD_SUPPORT:
        return "ungrounded_words"
    if candidate.origin in MODEL_WRITTEN_ANSWERS:
        return _model_answer_problem(candidate.response, source)
    return None


def _shape_problem(candidate: Candidate) -> str | None:
    if not (
        MIN_PROMPT <= len(candidate.prompt) <= MAX_PROMPT and 1 <= len(candidate.response) <= MAX_RESPONSE
    ):
        return "length"
    if not looks_like_language(f"{candidate.prompt}\n{candidate.response}"):
        return "language"
    return None


def _text(candidate: Candidate | dict[str, str]) -> str:
    if isinstance(candidate, Candidate):
        return f"{candidate.prompt}\n{candidate.response}"
    return f"{candidate['prompt']}\n{candidate['response']}"


def _near_duplicate(candidate: Candidate, vector: Any, kept: list[Candidate], kept_vectors: Any) -> bool:
    """Cosine ≥ NEAR_DUPLICATE to a kept pair whose answer states every fact this one states (a
    paraphrase; "Slit 2 is 1.0 arcseconds" and "Slit 5 is 3.0 arcseconds" are alike but not duplicates)."""
    if kept_vectors is None:
        return False
    facts = extract_facts(candidate.response)
    for index in np.flatnonzero(kept_vectors @ vector >= NEAR_DUPLICATE):
        if facts <= extract_facts(kept[int(index)].response):
            return True
    return False


def deduplicate(
    candidates: list[Candidate], eval_pairs: list[dict[str, str]], log: DropLog, progress: Any = None
) -> list[Candidate]:
    """``candidates`` without leaks into ``eval_pairs`` and without (near-)duplicates, first kept."""
    from openlora.memory import embedder

    vectors = embedder.embed([_text(c) for c in candidates])
    eval_vectors = embedder.embed([_text(p) for p in eval_pairs])
    eval_norm = {normalize(_text(p)) for p in eval_pairs} | {normalize(p["prompt"]) for p in eval_pairs}
    kept: list[Candidate] = []
    kept_rows: list[int] = []
    seen: set[str] = set()
    for index, candidate in enumerate(progress(candidates) if progress else candidates):
        norm, vector = normalize(_text(candidate)), vectors[index]
        if problem := _shape_problem(candidate):
            log.drop(problem, candidate)
        elif (
            norm in eval_norm
            or normalize(candidate.prompt) in eval_norm
            or (len(eval_vectors) and float(np.max(eval_vectors @ vector)) >= LEAKAGE)
        ):
            log.drop("leakage", candidate)
        elif norm in seen:
            log.drop("duplicate", candidate)
        elif _near_duplicate(candidate, vector, kept, vectors[kept_rows] if kept_rows else None):
            log.drop("near_duplicate", candidate)
        else:
            kept.append(candidate)
            kept_rows.append(index)
            seen.add(norm)
    return kept
