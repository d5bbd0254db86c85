"""The knowledge graph of a corpus: entities, relations (facts) and the links between chunks.

What it is for: deterministic extraction from each chunk's blocks —
- definitions: "X is a/an/the Y", "X means / refers to / stands for Y", "X: Y" and "X — Y" (a list
  item or a short paragraph) → ``(X, "is", Y)``;
- lists: a lead-in ("The night checklist includes:") or, failing one, the section heading, followed
  by items → ``(subject, "includes", item)`` for each short item;
- tables: the header row names the attributes → ``(row key, column header, cell)`` for every cell;
and the mentions of every entity in every chunk (whole words, case-insensitive, plural ``s``
allowed). Two chunks are linked when they mention the same entity; entities mentioned in more than
:data:`GENERIC_SHARE` of the chunks are too generic to link on. Each fact keeps the chunk it came
from and the sentence, item or row that states it (``evidence``).
Relations the advisor model proposes (``model_assist.relations``) enter the graph only through
:func:`stated_relation`: the subject, the object and the relation's words must all stand in one
sentence of the chunk, which becomes the fact's evidence (``origin="model"``); anything else is refused.
What it is not for: reasoning or coreference ("it", "this") — a fact is stated in one place or not
extracted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from openlora.synthesis.builder.chunking import Chunk, sentences
from openlora.synthesis.builder.documents import Block

GENERIC_SHARE = 0.25
FILLER = frozenset(["the", "and", "for", "with", "from", "into", "onto", "than", "then", "its", "their"])
MAX_ENTITY_WORDS = 6
PRONOUNS = frozenset(
    [
        "it",
        "this",
        "that",
        "there",
        "these",
        "those",
        "each",
        "every",
        "which",
        "what",
        "he",
        "she",
        "they",
        "one",
        "here",
        "its",
        "all",
        "some",
        "any",
        "no",
        "if",
        "when",
        "where",
        "why",
        "how",
    ]
)
SUBJECT = r"(?P<x>[A-Za-z][\w'/-]*(?:\s[\w'/-]+){0,5}?)"
DEFINITIONS = (
    re.compile(rf"^(?:The |An? )?{SUBJECT}\s(?:is|are)\s(?P<y>(?:a|an|the)\s.{{3,}}?)\.?$"),
    re.compile(rf"^(?:The |An? )?{SUBJECT}\s(?:means|refers to|stands for|denotes)\s(?P<y>.{{3,}}?)\.?$"),
    re.compile(rf"^{SUBJECT}\s*(?::|—|–|\s-)\s+(?P<y>.{{8,}}?)\.?$"),
)
LEAD = re.compile(
    r"^(?:The |An? )?(?P<s>[\w'/ -]+?)\s(?:includes?|has|have|consists? of|contains?|comprises?|covers?|"
    r"is made up of|are)\b[^:]*:$",
    re.IGNORECASE,
)
ITEM_NAME = re.compile(r"^(?P<n>[^:—–]+?)\s*(?::|—|–|\s-\s)")


@dataclass
class Fact:
    subject: str
    relation: str
    object: str
    chunk_id: str
    evidence: str
    kind: str  # "definition", "part", "attribute" or "relation"
    origin: str = "rule"  # "rule" (the patterns above) or "model" (proposed, checked by stated_relation)


@dataclass
class Entity:
    name: str
    key: str
    mentions: list[str] = field(default_factory=list)
    defined_in: list[str] = field(default_factory=list)


@dataclass
class Link:
    a: str
    b: str
    entities: list[str]
    similarity: float = 0.0


def entity_key(name: str) -> str:
    name = re.sub(r"^(?:the|a|an)\s+", "", name.strip().lower())
    return " ".join(re.sub(r"[^\w\s'/-]", " ", name).split())


def _good_subject(name: str) -> bool:
    words = entity_key(name).split()
    return 0 < len(words) <= MAX_ENTITY_WORDS and words[0] not in PRONOUNS and len(entity_key(name)) >= 3


def definitions(text: str, chunk_id: str, colon: bool = False) -> list[Fact]:
    """``(X, "is", Y)`` for every sentence of ``text`` that defines a term ("X: Y" only when ``colon``:
    list items, where it is a glossary entry rather than a "Note: …" in prose)."""
    out = []
    for sentence in sentences(text):
        for pattern in DEFINITIONS if colon else DEFINITIONS[:2]:
            match = pattern.match(sentence.strip())
            if match and _good_subject(match.group("x")):
                out.append(Fact(match.group("x").strip(), "is", match.group("y").strip(), chunk_id,
                                sentence.strip(), "definition"))  # fmt: skip
                break
    return out


def _list_facts(block: Block, heading: str, chunk_id: str) -> list[Fact]:
    lead = LEAD.match(block.lead.strip())
    subject = lead.group("s").strip() if lead and _good_subject(lead.group("s")) else heading
    out = []
    for item in block.items:
        named = ITEM_NAME.match(item)
        name = (named.group("n") if named else item).strip().rstrip(".")
        if _good_subject(name):
            out.append(Fact(subject, "includes", name, chunk_id, f"{block.lead} {item}".strip(), "part"))
        out += definitions(item, chunk_id, colon=True) if named else []
    return out


def _table_facts(block: Block, chunk_id: str) -> list[Fact]:
    if len(block.rows) < 2 or len(block.rows[0]) < 2:
        return []
    header, out = block.rows[0], []
    for row in block.rows[1:]:
        if not row or not _good_subject(row[0]):
            continue
        evidence = "; ".join(f"{h}: {v}" for h, v in zip(header, row, strict=False))
        for column, value in zip(header[1:], row[1:], strict=False):
            if value.strip() and column.strip():
                out.append(Fact(row[0], column, value, chunk_id, evidence, "attribute"))
    return out


def extract_facts(chunk: Chunk) -> list[Fact]:
    """Every definition, list and table fact the chunk states."""
    heading = chunk.headings[-1] if chunk.headings else chunk.file
    facts: list[Fact] = []
    for block in chunk.blocks:
        if block.kind == "para":
            facts += definitions(block.text, chunk.id)
        elif block.kind == "list":
            facts += _list_facts(block, heading, chunk.id)
        else:
            facts += _table_facts(block, chunk.id)
    return facts


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'/-]+", text.lower())


def _says(sentence_words: list[str], phrase: str) -> bool:
    """True when ``phrase``'s words stand in the sentence in order, side by side (a plural allowed)."""
    want = _words(re.sub(r"^(?:the|a|an)\s+", "", phrase.strip(), flags=re.IGNORECASE))
    if not want:
        return False
    for start in range(len(sentence_words) - len(want) + 1):
        window = sentence_words[start : start + len(want)]
        if window[:-1] == want[:-1] and re.fullmatch(rf"{re.escape(want[-1])}(?:s|es)?", window[-1]):
            return True
    return False


def _relation_said(sentence_words: list[str], relation: str) -> bool:
    """Every content word of ``relation`` (3+ letters, not :data:`FILLER`) is in the sentence, by its
    first 4 letters, so "chill" matches "chills"; a relation of filler words only is refused."""
    content = [w for w in _words(relation) if len(w) >= 3 and w not in PRONOUNS | FILLER]
    stems = {w[:4] for w in sentence_words}
    return bool(content) and all(w[:4] in stems for w in content)


def stated_relation(subject: str, relation: str, obj: str, chunk: Chunk) -> Fact | None:
    """A model-proposed ``(subject, relation, object)`` as a fact when one sentence of ``chunk`` states
    all three (see the module text); None when any is missing, the subject is a pronoun or too long,
    or subject and object are the same thing."""
    subject, relation, obj = (" ".join(str(x).split()) for x in (subject, relation, obj))
    if not (_good_subject(subject) and _good_subject(obj)) or entity_key(subject) == entity_key(obj):
        return None
    if len(_words(relation)) > MAX_ENTITY_WORDS:
        return None
    for block in chunk.blocks:
        texts = (
            [block.text]
            if block.kind == "para"
            else [block.lead, *block.items, *("; ".join(r) for r in block.rows)]
        )
        for sentence in (s for text in texts for s in sentences(text)):
            said = _words(sentence)
            if _says(said, subject) and _says(said, obj) and _relation_said(said, relation):
                return Fact(subject, relation.lower(), obj, chunk.id, sentence.strip(), "relation", "model")
    return None


@dataclass
class KnowledgeGraph:
    chunks: dict[str, Chunk]
    entities: dict[str, Entity]
    facts: list[Fact]
    links: list[Link]

    def facts_about(self, key: str) -> list[Fact]:
        return [f for f in self.facts if entity_key(f.subject) == key]

    def to_json(self) -> dict:
        return {
            "chunks": [
                {"id": c.id, "file": c.file, "heading": c.heading, "tokens": c.tokens, "text": c.text}
                for c in self.chunks.values()
            ],
            "entities": [asdict(e) for e in self.entities.values()],
            "facts": [asdict(f) for f in self.facts],
            "links": [asdict(link) for link in self.links],
        }

    def save(self, path: Path) -> None:
        from openlora.trainer.rundir import write_json_atomic

        write_json_atomic(path, self.to_json())


def _mentions(entities: dict[str, Entity], chunks: list[Chunk]) -> None:
    lowered = {c.id: " ".join(c.text.lower().split()) for c in chunks}
    for entity in entities.values():
        pattern = re.compile(rf"(?<![\w-]){re.escape(entity.key)}(?:s|es)?(?![\w-])")
        entity.mentions = [cid for cid, text in lowered.items() if pattern.search(text)]


def _links(entities: dict[str, Entity], total: int) -> list[Link]:
    shared: dict[tuple[str, str], list[str]] = {}
    for entity in entities.values():
        if len(entity.mentions) > max(3, GENERIC_SHARE * total):
            continue
        for a, b in combinations(sorted(entity.mentions), 2):
            shared.setdefault((a, b), []).append(entity.key)
    return [Link(a, b, keys) for (a, b), keys in sorted(shared.items())]


def build_graph(chunks: list[Chunk]) -> KnowledgeGraph:
    """Facts of every chunk, the entities they name, where each is mentioned, and the chunk links."""
    return graph_of_facts(chunks, [fact for chunk in chunks for fact in extract_facts(chunk)])


def graph_of_facts(chunks: list[Chunk], facts: Sequence[Fact]) -> KnowledgeGraph:
    """The graph of ``chunks`` over facts already extracted (a graph's own, plus checked model
    relations): the entities they name, where each is mentioned, and the chunk links."""
    facts = list(facts)
    entities: dict[str, Entity] = {}
    for fact in facts:
        names = [fact.subject] + ([fact.object] if fact.kind in ("part", "relation") else [])
        for name in names:
            key = entity_key(name)
            if _good_subject(name):
                entities.setdefault(key, Entity(name.strip(), key))
        if fact.kind == "definition":
            entities[entity_key(fact.subject)].defined_in.append(fact.chunk_id)
    _mentions(entities, chunks)
    return KnowledgeGraph({c.id: c for c in chunks}, entities, facts, _links(entities, len(chunks)))


def load_graph_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
