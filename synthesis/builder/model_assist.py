"""What the advisor model (the embedded SmolLM2, or any GGUF) adds to the builder: wording, not facts.

What it is for: three optional, bounded uses of constrained JSON decoding (``advisor.client``) —
- :func:`relations`: up to :data:`MAX_RELATIONS` ``(subject, relation, object)`` triples proposed
  for a chunk the rules found little in; each enters the knowledge graph only when
  ``graph.stated_relation`` finds one sentence of the chunk stating all three (that sentence is then
  the answer of its pair, so the model supplies the link, never the words);
- :func:`rephrase`: a template question reworded, so the pairs do not all read "What is X?"; the
  answer stays the corpus's sentence. A rewording is taken only when it keeps the entity's name word
  for word, ends with "?", differs from the template and stays close in meaning (MiniLM cosine ≥
  :data:`SAME_MEANING`); otherwise the template question stays.
- :func:`summarise`: a model-written summary of a chunk, as an extra candidate that the filters
  (grounding, word support, dedup) judge like any other.
Document text reaches the prompt only through ``prompts.quote_data`` (one line, JSON-quoted, cut).
What it is not for: deciding what is true — a 135M model writes weak text; every answer it writes is
checked against the chunk, and every fact in a template answer comes from the corpus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from openlora.prompts import quote_data, render
from openlora.synthesis.builder.chunking import Chunk
from openlora.synthesis.builder.graph import Fact, entity_key, stated_relation
from openlora.synthesis.builder.questions import Candidate
from openlora.synthesis.quality import normalize

SAME_MEANING = 0.75
QUESTION_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string", "minLength": 8, "maxLength": 160}},
    "required": ["question"],
    "additionalProperties": False,
}
MAX_RELATIONS = 3
_PHRASE = {"type": "string", "minLength": 2, "maxLength": 60}
RELATION_SCHEMA = {
    "type": "object",
    "properties": {
        "relations": {
            "type": "array",
            "maxItems": MAX_RELATIONS,
            "items": {
                "type": "object",
                "properties": {"subject": _PHRASE, "relation": _PHRASE, "object": _PHRASE},
                "required": ["subject", "relation", "object"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["relations"],
    "additionalProperties": False,
}
SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 20, "maxLength": 300}},
    "required": ["summary"],
    "additionalProperties": False,
}


@dataclass
class AssistStats:
    relations_proposed: int = 0
    relations_taken: int = 0
    rephrase_tried: int = 0
    rephrase_taken: int = 0
    summaries_written: int = 0
    invalid: int = 0
    seconds: float = 0.0


def _ask(advisor: Any, prompt: str, schema: dict[str, Any], key: str, stats: AssistStats) -> str | None:
    try:
        raw = advisor.complete_json([{"role": "user", "content": prompt}], schema)
        value = json.loads(raw)[key]
    except (ValueError, KeyError, TypeError):
        stats.invalid += 1
        return None
    return " ".join(str(value).split()) or None


def relations(chunk: Chunk, advisor: Any, stats: AssistStats) -> list[Fact]:
    """The triples the model proposes for ``chunk`` that one of its sentences states (``stated_relation``)."""
    prompt = render(
        "extract_relations", heading=quote_data(chunk.heading, 120), passage=quote_data(chunk.text, 1200)
    )
    try:
        proposed = json.loads(advisor.complete_json([{"role": "user", "content": prompt}], RELATION_SCHEMA))
        triples = proposed["relations"][:MAX_RELATIONS]
        named = [(str(t["subject"]), str(t["relation"]), str(t["object"])) for t in triples]
    except (ValueError, KeyError, TypeError):
        stats.invalid += 1
        return []
    stats.relations_proposed += len(named)
    taken: dict[tuple[str, str], Fact] = {}
    for subject, relation, obj in named:
        fact = stated_relation(subject, relation, obj, chunk)
        if fact is not None:
            taken.setdefault((entity_key(fact.subject), entity_key(fact.object)), fact)
    stats.relations_taken += len(taken)
    return list(taken.values())


def rephrase(candidate: Candidate, advisor: Any, stats: AssistStats) -> Candidate:
    """``candidate`` with a model-reworded question, or unchanged when the rewording fails a check."""
    from openlora.memory import embedder

    stats.rephrase_tried += 1
    term = candidate.entity
    prompt = render(
        "rephrase_question", term=quote_data(term, 80), question=quote_data(candidate.prompt, 200)
    )
    question = _ask(advisor, prompt, QUESTION_SCHEMA, "question", stats)
    if not question or not question.endswith("?") or term not in normalize(question):
        return candidate
    if normalize(question) == normalize(candidate.prompt):
        return candidate
    old, new = embedder.embed([candidate.prompt, question])
    if float(old @ new) < SAME_MEANING:
        return candidate
    stats.rephrase_taken += 1
    return replace(candidate, prompt=question, origin="model_rephrased", notes={"template": candidate.prompt})


def summarise(chunk: Chunk, advisor: Any, stats: AssistStats) -> Candidate | None:
    """A model-written summary of ``chunk`` as a candidate (the filters decide whether it stays)."""
    prompt = render(
        "summarise_chunk", heading=quote_data(chunk.heading, 120), passage=quote_data(chunk.text, 1200)
    )
    summary = _ask(advisor, prompt, SUMMARY_SCHEMA, "summary", stats)
    if not summary:
        return None
    stats.summaries_written += 1
    question = f'In a sentence or two, what does the section "{chunk.heading}" say?'
    return Candidate(question, summary, "summary", [chunk.id], origin="model_summary")


def make_advisor(model: str) -> Any:
    from openlora.advisor.client import Advisor

    return Advisor(model, n_ctx=2048, temperature=0.3, max_tokens=120, seed=0)
