"""Retrieval latency of the incident memory at 10,000 incidents (real MiniLM embeddings, real Chroma).

Fills a fresh OPENLORA_HOME (a temporary folder unless --home is given) with synthetic incidents
across diagnoses, model families, loss curves, settings and fixes, then times ``search`` (embed the
query, query Chroma, read the records from SQLite) and ``rank_fixes`` for a mix of queries with and
without filters, and prints p50/p95/max. Target: search p95 ≤ 50 ms on this machine.

Usage: python bench/memory_retrieval.py [--incidents 10000] [--queries 300] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from openlora.memory.incidents import IncidentMemory, NewIncident
from openlora.memory.records import Diagnosis, Fix, Outcome
from openlora.memory.signature import Symptom
from openlora.memory.store import MemoryStore

RESULTS = Path(__file__).resolve().parent / "results"
FAMILIES = ["llama", "mistral", "qwen2", "gpt2", "falcon"]
FIXES = {
    "nan": [Fix("lower_lr", {"learning_rate": 1e-4}), Fix("clip_gradients", {"max_grad_norm": 0.5})],
    "diverged": [Fix("lower_lr", {"learning_rate": 5e-5}), Fix("warmup", {"warmup_steps": 50})],
    "loss_spike": [Fix("clip_gradients", {"max_grad_norm": 1.0}), Fix("lower_lr", {"learning_rate": 1e-4})],
    "plateau": [Fix("raise_lr", {"learning_rate": 3e-4}), Fix("more_steps", {"max_steps": 400})],
    "overfit": [Fix("early_stop", {"max_steps": 60}), Fix("more_data", {"synthesize": 200})],
    "oom": [
        Fix("smaller_batch", {"batch_size": 2, "grad_accum": 8}),
        Fix("shorter_sequences", {"max_seq_len": 512}),
    ],
    "data_error": [Fix("repair_data", {"drop_bad_rows": True})],
    "underfit": [Fix("more_steps", {"max_steps": 800})],
}


def synthetic(rng: random.Random) -> tuple[NewIncident, Outcome]:
    diagnosis = rng.choice(list(FIXES))
    start = rng.uniform(1.5, 4.0)
    steps = rng.randint(10, 120)
    curve: list[float | None] = [start * (0.97**i) + rng.gauss(0, 0.02) for i in range(steps)]
    if diagnosis in ("nan", "diverged", "loss_spike"):
        at = rng.randint(3, steps - 1)
        curve[at:] = [v * (1 + 3 * (j + 1)) for j, v in enumerate(curve[at:])]
        if diagnosis == "nan":
            curve[-1] = None
    elif diagnosis == "plateau":
        curve = [start + rng.gauss(0, 0.01) for _ in range(steps)]
    symptom = Symptom(
        diagnosis,
        rng.choice(FAMILIES),
        curve,
        error_tail="RuntimeError: CUDA out of memory" if diagnosis == "oom" else "",
        dataset_stats={"train_examples": rng.randint(20, 5000), "mean_example_tokens": rng.randint(20, 900)},
        config={
            "learning_rate": rng.choice([1e-5, 1e-4, 2e-4, 1e-3, 5e-3]),
            "batch_size": rng.choice([1, 4, 16]),
        },
    )
    outcome = rng.choice([Outcome.FIXED, Outcome.FIXED, Outcome.NOT_FIXED, Outcome.MADE_WORSE])
    return NewIncident(symptom, fix=rng.choice(FIXES[diagnosis])), outcome


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fill(memory: IncidentMemory, rng: random.Random, incidents: int, batch: int = 500) -> float:
    """Add synthetic incidents (with their outcomes) up to ``incidents``; returns the seconds it took."""
    began = time.perf_counter()
    for start in range(memory.count(), incidents, batch):
        items = [synthetic(rng) for _ in range(min(batch, incidents - start))]
        added = memory.add_many([item for item, _ in items])
        with memory.store.writer():
            memory.store.db.executemany(
                "UPDATE incidents SET outcome = ? WHERE id = ?",
                [(outcome.value, inc.id) for inc, (_, outcome) in zip(added, items, strict=True)],
            )
        print(f"\rfilled {start + len(items)}/{incidents}", end="", flush=True)
    print()
    return time.perf_counter() - began


def make_queries(rng: random.Random, count: int) -> list[tuple[str, str | None, str | None]]:
    """Query text with, for a third each, a model-family or a diagnosis filter."""
    queries = []
    for i in range(count):
        symptom, _ = synthetic(rng)
        family = rng.choice(FAMILIES) if i % 3 == 1 else None
        diagnosis = rng.choice(list(Diagnosis)).value if i % 3 == 2 else None
        text = symptom.symptom if i % 2 else "loss went nan at step 40 after raising the lr"
        queries.append((text, family, diagnosis))
    return queries


def time_queries(
    memory: IncidentMemory, queries: list[tuple[str, str | None, str | None]]
) -> tuple[list[float], list[float]]:
    """Milliseconds of each search and each fix ranking, after one warm-up search."""
    memory.search("warm up", k=5)  # model load and index open are not retrieval latency
    search_ms, rank_ms = [], []
    for query, family, diagnosis in queries:
        t0 = time.perf_counter()
        memory.search(query, k=5, model_family=family, diagnosis=diagnosis)
        t1 = time.perf_counter()
        memory.rank_fixes(query, k=20, model_family=family, diagnosis=diagnosis)
        t2 = time.perf_counter()
        search_ms.append((t1 - t0) * 1000)
        rank_ms.append((t2 - t1) * 1000)
    return search_ms, rank_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        memory = IncidentMemory(MemoryStore(args.home or Path(tmp)))
        fill_s = fill(memory, rng, args.incidents)
        queries = make_queries(rng, args.queries)
        search_ms, rank_ms = time_queries(memory, queries)
        summary = {
            "incidents": memory.count(),
            "indexed": memory.index.count(),
            "fill_s": round(fill_s, 1),
            "queries": len(queries),
            "search_ms": {
                "p50": percentile(search_ms, 0.5),
                "p95": percentile(search_ms, 0.95),
                "max": max(search_ms),
                "mean": statistics.mean(search_ms),
            },
            "rank_fixes_ms": {
                "p50": percentile(rank_ms, 0.5),
                "p95": percentile(rank_ms, 0.95),
                "max": max(rank_ms),
            },
        }
    print(f"incidents {summary['incidents']} (indexed {summary['indexed']}), filled in {summary['fill_s']} s")
    for name in ("search_ms", "rank_fixes_ms"):
        figures = summary[name]
        print(
            f"{name[:-3]:<11} p50 {figures['p50']:6.1f} ms   p95 {figures['p95']:6.1f} ms   "
            f"max {figures['max']:6.1f} ms"
        )
    print(f"target search p95 <= 50 ms: {'met' if summary['search_ms']['p95'] <= 50 else 'NOT met'}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "memory_retrieval.json"
    out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
