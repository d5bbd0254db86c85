"""Question/answer candidates from the knowledge graph, by deterministic templates.

What it is for: turning facts into closed-book pairs whose answers are the corpus's own words —
- single-fact: a definition → "What is X?" answered by the defining sentence; a list → "What does S
  include?" answered by its items; a table cell → "What is the <column> of <row>?"; a checked model
  relation → "How are X and Y related?" answered by the sentence that states it;
- multi-hop: an entity defined in one chunk and listed or described in another (linked through the
  graph) → one question whose answer needs both chunks;
- summaries: the first chunk of each section → "Summarise the section …", answered by its lead
  sentences (extractive).
Every candidate names the chunks it rests on (its provenance).
What it is not for: model-written text (``model_assist``) or judging candidates (``filters``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openlora.synthesis.builder.chunking import Chunk, sentences
from openlora.synthesis.builder.graph import Fact, KnowledgeGraph, entity_key

SUMMARY_SENTENCES = 2
MAX_ATTRIBUTES_PER_ROW = 3


@dataclass
class Candidate:
    prompt: str
    response: str
    kind: str  # definition, part, attribute, multi_hop, summary
    chunk_ids: list[str]
    entity: str = ""
    origin: str = "template"
    notes: dict[str, str] = field(default_factory=dict)


def _term(fact: Fact) -> str:
    """The subject as the corpus writes it: "the dome shutter" when its sentence says "The dome shutter"."""
    if fact.evidence.lower().startswith(f"the {fact.subject.lower()}"):
        return f"the {fact.subject}"
    return fact.subject


def _as_written(name: str, evidence: str) -> str:
    """``name`` with the "the" its sentence puts before it ("the glycol loop"), else as it is."""
    if name.lower().startswith(("the ", "a ", "an ")):
        return name
    said = re.search(rf"(?<![\w-])the\s+{re.escape(name)}(?![\w-])", evidence, re.IGNORECASE)
    return f"the {name}" if said else name


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def definition_question(fact: Fact) -> str:
    term = _term(fact)
    if term[:1].isupper() or term.startswith("the "):
        plural = re.match(rf"^(?:the\s+)?{re.escape(fact.subject)}\s+are\b", fact.evidence, re.IGNORECASE)
        return f"What {'are' if plural else 'is'} {term}?"
    return f'What does "{term}" mean?'


def single_fact(graph: KnowledgeGraph) -> list[Candidate]:
    """One candidate per definition, per list (grouped by subject and chunk) and per table cell."""
    out: list[Candidate] = []
    groups: dict[tuple[str, str], list[Fact]] = {}
    attributes: dict[tuple[str, str], int] = {}
    for fact in graph.facts:
        key = entity_key(fact.subject)
        if fact.kind == "definition":
            out.append(
                Candidate(definition_question(fact), fact.evidence, "definition", [fact.chunk_id], key)
            )
        elif fact.kind == "part":
            groups.setdefault((fact.subject, fact.chunk_id), []).append(fact)
        elif fact.kind == "relation":
            subject, obj = _as_written(fact.subject, fact.evidence), _as_written(fact.object, fact.evidence)
            question = f"How are {subject} and {obj} related?"
            out.append(Candidate(question, fact.evidence, "relation", [fact.chunk_id], key, "model_relation"))
        elif attributes.get((key, fact.chunk_id), 0) < MAX_ATTRIBUTES_PER_ROW:
            attributes[(key, fact.chunk_id)] = attributes.get((key, fact.chunk_id), 0) + 1
            question = f"What is the {fact.relation.lower()} of {fact.subject}?"
            answer = f"The {fact.relation.lower()} of {fact.subject} is {fact.object}."
            out.append(Candidate(question, answer, "attribute", [fact.chunk_id], key))
    for (subject, chunk_id), facts in groups.items():
        items = list(dict.fromkeys(f.object for f in facts))
        out.append(Candidate(f"What does {_term(facts[0])} include?",
                             f"{subject[:1].upper()}{subject[1:]} includes {_join(items)}.", "part",
                             [chunk_id], entity_key(subject)))  # fmt: skip
    return out


def _definition_of(graph: KnowledgeGraph, key: str) -> Fact | None:
    return next((f for f in graph.facts_about(key) if f.kind == "definition"), None)


def _joined(graph: KnowledgeGraph, key: str, definition: Fact, fact: Fact) -> tuple[str, str] | None:
    """A question and answer joining ``definition`` of ``key`` with ``fact`` from another chunk."""
    if fact.kind == "part" and entity_key(fact.object) == key:
        question = f"What is {_term(definition)}, and what is it part of?"
        return question, f"{definition.evidence} It is one of the things {fact.subject} includes."
    if fact.kind == "definition" and entity_key(fact.subject) != key and key in fact.evidence.lower():
        question = f"What is {_term(fact)}, and what is the {definition.subject} it mentions?"
        return question, f"{fact.evidence} {definition.evidence}"
    return None


def _mention(graph: KnowledgeGraph, key: str, definition: Fact, chunk_id: str) -> tuple[str, str] | None:
    """A question joining ``definition`` with the first sentence of another chunk that mentions ``key``."""
    chunk = graph.chunks[chunk_id]
    pattern = re.compile(rf"(?<![\w-]){re.escape(key)}(?:s|es)?(?![\w-])", re.IGNORECASE)
    for block in chunk.blocks:
        for sentence in sentences(block.text) if block.kind == "para" else []:
            if pattern.search(sentence) and sentence != definition.evidence and len(sentence.split()) >= 6:
                question = f'What is {_term(definition)}, and what does "{chunk.heading}" say about it?'
                return question, f"{definition.evidence} {sentence}"
    return None


def multi_hop(graph: KnowledgeGraph, limit_per_entity: int = 2) -> list[Candidate]:
    """Questions joining an entity's definition (chunk A) with what a linked chunk B says about it: a
    fact of B naming the entity, else a sentence of B that mentions it."""
    out: list[Candidate] = []
    for key in sorted(graph.entities):
        definition = _definition_of(graph, key)
        if definition is None:
            continue
        home = graph.chunks[definition.chunk_id]
        others = [
            cid
            for link in graph.links
            if key in link.entities and definition.chunk_id in (link.a, link.b)
            for cid in (link.a, link.b)
            if cid != definition.chunk_id and graph.chunks[cid].headings != home.headings
        ]
        made = 0
        for cid in others:
            if made >= limit_per_entity:
                break
            facts = [f for f in graph.facts if f.chunk_id == cid]
            joined = next((j for f in facts if (j := _joined(graph, key, definition, f))), None)
            joined = joined or _mention(graph, key, definition, cid)
            if joined:
                out.append(Candidate(*joined, "multi_hop", [cid, definition.chunk_id], key))
                made += 1
    return out


def _lead(chunk: Chunk) -> str:
    paragraphs = [b.text for b in chunk.blocks if b.kind == "para"]
    if paragraphs:
        return " ".join(sentences(" ".join(paragraphs))[:SUMMARY_SENTENCES])
    lists = [b for b in chunk.blocks if b.kind == "list"]
    if lists and lists[0].lead:
        return f"{lists[0].lead} {_join(lists[0].items)}."
    return ""


def summaries(chunks: list[Chunk]) -> list[Candidate]:
    """The first chunk of each section, summarised by its lead sentences."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    for chunk in chunks:
        where = (chunk.file, chunk.headings)
        if where in seen:
            continue
        seen.add(where)
        lead = _lead(chunk)
        if len(lead.split()) >= 8:
            question = f'Summarise the section "{chunk.heading}".'
            out.append(Candidate(question, lead, "summary", [chunk.id], entity_key(chunk.headings[-1])))
    return out


def candidates(graph: KnowledgeGraph) -> list[Candidate]:
    chunks = list(graph.chunks.values())
    return single_fact(graph) + multi_hop(graph) + summaries(chunks)
