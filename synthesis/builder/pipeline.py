"""The dataset builder end to end: a folder of documents → grounded pairs with provenance, and a report.

What it is for: the public entry points —
- :func:`documents_to_records`: parse, chunk, build the graph, make template pairs, keep the grounded
  and distinct ones; no model, no files written (what an importer such as the ``docs`` pack calls);
- :func:`build_dataset`: the same plus the advisor model (bounded by ``model_calls``, a third each:
  relations for the chunks the rules found little in, checked against the chunk before they join
  the graph; rephrased questions; summaries), an eval split, and files beside ``out``:
  ``.report.json`` (counts per stage and per drop reason), ``.graph.json`` (chunks, entities,
  facts, links) and ``.chunks.npy`` (MiniLM vectors of the chunks, in the graph's chunk order).
The eval set: when ``eval_out`` names a file that exists it is read and every training pair too close
to it is dropped; when it does not exist, a held-out share (:data:`EVAL_SHARE`) of the sections is
set aside, its pairs are written there, and no training pair comes from those sections.
What it is not for: training on the pairs (``openlora-agent run``) or the CLI's printing.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openlora.synthesis.builder import model_assist
from openlora.synthesis.builder.chunking import Chunk, TokenCounter, chunk_documents, estimate_tokens
from openlora.synthesis.builder.documents import parse_folder
from openlora.synthesis.builder.filters import DropLog, deduplicate, grounding_problem
from openlora.synthesis.builder.graph import KnowledgeGraph, build_graph, graph_of_facts
from openlora.synthesis.builder.questions import Candidate, candidates

EVAL_SHARE = 0.15
Progress = Callable[[Iterable[Any], str], Iterable[Any]]


def tqdm_progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="item", leave=False)


def no_progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    return items


@dataclass
class BuildReport:
    files: int = 0
    parsed: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    chunks: int = 0
    tokens: int = 0
    entities: int = 0
    facts: dict[str, int] = field(default_factory=dict)
    links: int = 0
    candidates: dict[str, int] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    drop_examples: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    written: int = 0
    eval: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Corpus:
    chunks: list[Chunk]
    graph: KnowledgeGraph
    report: BuildReport


def read_corpus(docs_dir: Path, count: TokenCounter, progress: Progress = no_progress) -> Corpus:
    """Parse, chunk and graph ``docs_dir`` (a folder or one document); the report's parse, chunk and
    graph figures filled in."""
    report = BuildReport()
    root = docs_dir if docs_dir.is_dir() else docs_dir.parent  # one document: names relative to its folder
    began = time.perf_counter()
    documents, failures = parse_folder(docs_dir)
    report.seconds["parse"] = round(time.perf_counter() - began, 3)
    report.files, report.parsed = len(documents) + len(failures), len(documents)
    report.skipped = [{"file": str(f.path.relative_to(root)), "reason": f.reason} for f in failures]
    report.encodings = {str(d.path.relative_to(root)): d.encoding for d in documents if d.encoding != "utf-8"}
    report.pages = sum(d.pages for d in documents)
    began = time.perf_counter()
    chunks = chunk_documents(list(progress(documents, "chunk")), root, count)
    report.chunks, report.tokens = len(chunks), sum(c.tokens for c in chunks)
    graph = build_graph(chunks)
    report.seconds["chunk_and_graph"] = round(time.perf_counter() - began, 3)
    _graph_figures(report, graph)
    return Corpus(chunks, graph, report)


def _graph_figures(report: BuildReport, graph: KnowledgeGraph) -> None:
    report.entities, report.links = len(graph.entities), len(graph.links)
    report.facts = dict(Counter(f.kind for f in graph.facts))


def provenance_row(candidate: Candidate, graph: KnowledgeGraph) -> dict[str, Any]:
    """The JSONL row: prompt and response (what the trainer reads) plus where the answer comes from."""
    sources = [graph.chunks[cid] for cid in candidate.chunk_ids]
    return {
        "prompt": candidate.prompt,
        "response": candidate.response,
        "kind": candidate.kind,
        "origin": candidate.origin,
        "source_file": sources[0].file,
        "heading": sources[0].heading,
        "chunk_id": sources[0].id,
        "provenance": [{"file": c.file, "heading": c.heading, "chunk_id": c.id} for c in sources],
    }


def ground(pool: list[Candidate], graph: KnowledgeGraph, log: DropLog) -> list[Candidate]:
    kept = []
    for candidate in pool:
        source = "\n".join(graph.chunks[cid].text for cid in candidate.chunk_ids)
        problem = grounding_problem(candidate, source)
        if problem:
            log.drop(problem, candidate)
        else:
            kept.append(candidate)
    return kept


def balanced(pool: list[Candidate], n: int) -> list[Candidate]:
    """At most ``n`` of ``pool``, taken round-robin across kinds so every kind is represented."""
    by_kind: dict[str, list[Candidate]] = {}
    for candidate in pool:
        by_kind.setdefault(candidate.kind, []).append(candidate)
    out: list[Candidate] = []
    queues = [list(reversed(v)) for v in by_kind.values()]
    while len(out) < n and any(queues):
        for queue in queues:
            if queue and len(out) < n:
                out.append(queue.pop())
    return out


def documents_to_records(
    docs_dir: Path, token_counter: TokenCounter = estimate_tokens, progress: Progress = no_progress
) -> tuple[list[dict[str, Any]], BuildReport]:
    """Template pairs of ``docs_dir``, grounded and deduplicated, each row with its provenance."""
    corpus = read_corpus(docs_dir, token_counter, progress)
    pool = candidates(corpus.graph)
    corpus.report.candidates = dict(Counter(c.kind for c in pool))
    log = DropLog()
    kept = deduplicate(ground(pool, corpus.graph, log), [], log)
    _finish(corpus.report, log, kept)
    return [provenance_row(c, corpus.graph) for c in kept], corpus.report


def _finish(report: BuildReport, log: DropLog, kept: list[Candidate]) -> None:
    report.dropped = dict(log.dropped)
    report.drop_examples = log.examples
    report.kept = dict(Counter(c.kind for c in kept)) | {"total": len(kept)}
    report.written = len(kept)


def held_out_chunks(chunks: list[Chunk], share: float = EVAL_SHARE) -> set[str]:
    """Chunk ids of a stable ``share`` of the sections (at least one), chosen by a hash of their path."""
    sections = sorted(
        {(c.file, c.headings) for c in chunks}, key=lambda s: hashlib.sha1(repr(s).encode()).hexdigest()
    )
    chosen = set(sections[: max(1, round(share * len(sections)))]) if len(sections) > 1 else set()
    return {c.id for c in chunks if (c.file, c.headings) in chosen}


def _split_calls(calls: int) -> tuple[int, int, int]:
    """The model's call budget as (relations, rephrasings, summaries): a third each, rephrasings first."""
    relations = calls // 3
    rest = calls - relations
    return relations, rest - rest // 2, rest // 2


def _where_rules_find_little(chunks: list[Chunk], graph: KnowledgeGraph, count: int) -> list[Chunk]:
    """The ``count`` chunks with the fewest rule facts (the longest first among equals)."""
    found = Counter(f.chunk_id for f in graph.facts)
    return sorted(chunks, key=lambda c: (found[c.id], -c.tokens, c.id))[:count]


def _add_relations(
    corpus: Corpus, advisor: Any, calls: int, stats: model_assist.AssistStats, progress: Progress
) -> None:
    """Model-proposed relations of the chunks the rules found little in, checked, into a rebuilt graph."""
    if calls <= 0:
        return
    chosen = _where_rules_find_little(corpus.chunks, corpus.graph, calls)
    extra = [
        f for chunk in progress(chosen, "relations") for f in model_assist.relations(chunk, advisor, stats)
    ]
    if extra:
        corpus.graph = graph_of_facts(corpus.chunks, [*corpus.graph.facts, *extra])
        _graph_figures(corpus.report, corpus.graph)


def _assist(
    pool: list[Candidate],
    corpus: Corpus,
    advisor: Any,
    calls: int,
    stats: model_assist.AssistStats,
    progress: Progress,
) -> list[Candidate]:
    """Rephrase template questions and write summaries of the longest chunks, within ``calls``."""
    _, rephrasings, summaries = _split_calls(calls)
    rephrasable = [
        i for i, c in enumerate(pool) if c.kind in {"definition", "part", "attribute"} and c.entity
    ]
    chosen = rephrasable[:: max(1, len(rephrasable) // max(1, rephrasings))][:rephrasings]
    for index in progress(chosen, "rephrase"):
        pool[index] = model_assist.rephrase(pool[index], advisor, stats)
    longest = sorted(corpus.chunks, key=lambda c: -c.tokens)[:summaries]
    extra = [
        s for chunk in progress(longest, "summarise") if (s := model_assist.summarise(chunk, advisor, stats))
    ]
    return pool + extra


def _generate(corpus: Corpus, model: str, calls: int, progress: Progress) -> list[Candidate]:
    """The candidates: template pairs of the graph, with the model (``calls`` > 0) adding checked
    relations to the graph first, then rephrasings and summaries; its figures go in the report."""
    if calls <= 0 or not corpus.chunks:
        return candidates(corpus.graph)
    stats = model_assist.AssistStats()
    began = time.perf_counter()
    advisor = model_assist.make_advisor(model)
    _add_relations(corpus, advisor, _split_calls(calls)[0], stats, progress)
    pool = _assist(candidates(corpus.graph), corpus, advisor, calls, stats, progress)
    stats.seconds = round(time.perf_counter() - began, 2)
    corpus.report.model = {"model": model, "calls_budget": calls} | asdict(stats)
    return pool


def _eval_split(
    pool: list[Candidate], corpus: Corpus, eval_out: Path | None, log: DropLog
) -> tuple[list[Candidate], list[dict[str, str]], list[Candidate]]:
    """(training pool, eval pairs to check leakage against, new eval candidates to write or [])."""
    if eval_out is None:
        corpus.report.eval = {"mode": "none"}
        return pool, [], []
    if eval_out.is_file():
        from openlora.synthesis.generate import read_pairs

        pairs = read_pairs(eval_out)
        corpus.report.eval = {"mode": "read", "path": str(eval_out), "pairs": len(pairs)}
        return pool, pairs, []
    held = held_out_chunks(corpus.chunks)
    held_pool = [c for c in pool if set(c.chunk_ids) & held]
    train_pool = [c for c in pool if not set(c.chunk_ids) & held]
    eval_kept = deduplicate(ground(held_pool, corpus.graph, DropLog()), [], DropLog())
    corpus.report.eval = {
        "mode": "held_out",
        "path": str(eval_out),
        "held_out_chunks": len(held),
        "held_out_sections": len(
            {(corpus.graph.chunks[c].file, corpus.graph.chunks[c].heading) for c in held}
        ),
    }
    return train_pool, [{"prompt": c.prompt, "response": c.response} for c in eval_kept], eval_kept


def _write_outputs(out: Path, corpus: Corpus, rows: list[dict[str, Any]]) -> None:
    import numpy as np

    from openlora.memory import embedder
    from openlora.trainer.rundir import write_jsonl_atomic

    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(out, rows)
    graph_path, vectors_path = out.with_suffix(".graph.json"), out.with_suffix(".chunks.npy")
    vectors = embedder.embed([c.text for c in corpus.graph.chunks.values()])
    row = {cid: i for i, cid in enumerate(corpus.graph.chunks)}
    for link in corpus.graph.links:  # how close the linked chunks are, for retrieval and ranking
        link.similarity = round(float(vectors[row[link.a]] @ vectors[row[link.b]]), 4)
    corpus.graph.save(graph_path)
    np.save(vectors_path, vectors)
    corpus.report.outputs |= {"pairs": str(out), "graph": str(graph_path), "chunk_vectors": str(vectors_path)}


def build_dataset(
    docs_dir: Path,
    out: Path,
    eval_out: Path | None = None,
    n: int = 500,
    model: str | None = None,
    progress: Progress = tqdm_progress,
    model_calls: int = 12,
    token_counter: TokenCounter | None = None,
) -> BuildReport:
    """Build up to ``n`` grounded pairs from ``docs_dir`` into ``out`` (JSONL), the report beside it.

    ``model``: the GGUF that rephrases questions and writes summaries (None: the embedded SmolLM2);
    ``model_calls``: how many generations it may make (0: templates only, nothing loaded);
    ``token_counter``: None uses the embedded tokenizer.
    """
    from openlora.trainer.config import EMBEDDED_BASE
    from openlora.trainer.rundir import write_json_atomic, write_jsonl_atomic

    corpus = read_corpus(docs_dir, token_counter or _embedded_counter(), progress)
    report = corpus.report
    began = time.perf_counter()
    pool = _generate(corpus, model or EMBEDDED_BASE, model_calls, progress)
    report.seconds["generate"] = round(time.perf_counter() - began, 3)
    report.candidates = dict(Counter(c.kind for c in pool))
    report.candidates |= {"total": len(pool), "model_written": sum(c.origin != "template" for c in pool)}
    log = DropLog()
    began = time.perf_counter()
    train_pool, eval_pairs, eval_new = _eval_split(pool, corpus, eval_out, log)
    kept = deduplicate(
        ground(train_pool, corpus.graph, log), eval_pairs, log, lambda x: progress(x, "filter")
    )
    report.seconds["filter"] = round(time.perf_counter() - began, 3)
    chosen = balanced(kept, n)
    _finish(report, log, chosen)
    report.kept |= {"before_cap": len(kept), "model_written": sum(c.origin != "template" for c in chosen)}
    _write_outputs(out, corpus, [provenance_row(c, corpus.graph) for c in chosen])
    if eval_new and eval_out is not None:
        eval_rows = [provenance_row(c, corpus.graph) for c in balanced(eval_new, max(20, n // 4))]
        write_jsonl_atomic(eval_out, eval_rows)
        report.eval["pairs"] = len(eval_rows)
    report.outputs["report"] = str(out.with_suffix(".report.json"))
    write_json_atomic(out.with_suffix(".report.json"), report.to_json())
    return report


def _embedded_counter() -> TokenCounter:
    from openlora.synthesis.builder.chunking import embedded_token_counter

    return embedded_token_counter()
