"""Throughput and yield of the offline dataset builder on the example handbook (examples/handbook/docs).

Prints and writes (bench/results/dataset_builder.json):
- parsing: pages per second (PDF pages, and 3,000 characters of text as a page for the other
  formats), best of ``--repeats`` passes over the corpus;
- generation: pairs per minute of the template stage (deterministic) and, separately, of the model
  stage (the embedded SmolLM2 in llama.cpp, ``--model-calls`` constrained generations: rephrasings
  and summaries), each over the candidates it produced;
- the share of generated pairs kept after the filters (grounding, dedup, leakage against the
  held-out eval sections), overall and for the model-written ones.

Usage: python bench/dataset_builder.py [--model-calls 40] [--repeats 3] [--docs DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from openlora.synthesis.builder.documents import parse_folder
from openlora.synthesis.builder.pipeline import build_dataset, no_progress, read_corpus
from openlora.synthesis.builder.questions import candidates

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def parse_rate(docs: Path, repeats: int) -> tuple[int, float]:
    best = float("inf")
    pages = 0
    for _ in range(repeats):
        began = time.perf_counter()
        documents, _ = parse_folder(docs)
        best = min(best, time.perf_counter() - began)
        pages = sum(d.pages for d in documents)
    return pages, pages / best


def template_rate(docs: Path) -> tuple[int, float]:
    from openlora.synthesis.builder.chunking import estimate_tokens

    began = time.perf_counter()
    corpus = read_corpus(docs, estimate_tokens)
    made = len(candidates(corpus.graph))
    return made, made / ((time.perf_counter() - began) / 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=REPO / "examples/handbook/docs")
    parser.add_argument("--model-calls", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pages, pages_per_s = parse_rate(args.docs, args.repeats)
    made, template_per_min = template_rate(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        report = build_dataset(args.docs, Path(tmp) / "pairs.jsonl", Path(tmp) / "eval.jsonl",
                               n=100_000, model_calls=args.model_calls, progress=no_progress)  # fmt: skip
    model = report.model
    model_made = sum(model.get(k, 0) for k in ("relations_taken", "rephrase_taken", "summaries_written"))
    considered = report.candidates["total"]
    result = {
        "pages": pages,
        "parse_pages_per_s": round(pages_per_s, 1),
        "template_candidates": made,
        "template_pairs_per_min": round(template_per_min),
        "model_calls": args.model_calls,
        "model_seconds": model.get("seconds", 0.0),
        "model_pairs_per_min": round(model_made / (model["seconds"] / 60), 1) if model.get("seconds") else 0,
        "model_relations_taken": f"{model.get('relations_taken', 0)}/{model.get('relations_proposed', 0)}",
        "model_rephrasings_taken": f"{model.get('rephrase_taken', 0)}/{model.get('rephrase_tried', 0)}",
        "model_summaries_written": model.get("summaries_written", 0),
        "candidates": considered,
        "kept_for_training": report.written,
        "eval_pairs": report.eval.get("pairs", 0),
        "kept_share": round((report.written + report.eval.get("pairs", 0)) / max(1, considered), 3),
        "model_written_kept": report.kept.get("model_written", 0),
        "dropped": report.dropped,
        "seconds": report.seconds,
    }
    print(json.dumps(result, indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dataset_builder.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
