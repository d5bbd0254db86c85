"""Decision latency of the advisor with the embedded model (SmolLM2-135M-Instruct Q4_1, llama.cpp).

Builds realistic decision prompts (the real ``decide`` prompt, the real JSON schema) for several
diagnoses and times the whole constrained decision: prompt evaluation, grammar-constrained
generation and Python validation. Prints median, p95 and max over N decisions, after one warm-up
that loads the model. Target: median ≤ 1.5 s on this CPU.

Usage: python bench/advisor_latency.py [--decisions 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from openlora.llm.advisor import Advisor
from openlora.agent.decision import decision_schema, validate_choice
from openlora.agent.detectors import detect
from openlora.memory.signature import describe_curve
from openlora.prompts import quote_data, render
from openlora.trainer.config import TrainConfig

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = TrainConfig.model_validate(
    {"dataset": "x.jsonl", "learning_rate": 3e-3, "batch_size": 8, "max_steps": 100}
).model_dump()
SUCCESS = {"val_loss_below": 1.0, "train_loss_below": None}


def scenarios() -> list[tuple[dict, list[dict]]]:
    def steps(values):
        return [{"event": "step", "step": i + 1, "loss": v} for i, v in enumerate(values)]

    return [
        (
            {"status": "nan", "step": 41, "evidence": {"loss": "nan", "lr": 3e-3}},
            steps([2.3 - 0.02 * i for i in range(40)] + [None]),
        ),
        ({"status": "oom", "step": 0, "evidence": {"error": "CUDA out of memory"}}, []),
        (
            {"status": "diverged", "step": 30, "evidence": {"loss": 9.0, "running_min": 1.2}},
            steps([2, 1.5, 1.2] + [9] * 8),
        ),
        ({"status": "completed", "final_metrics": {"train_loss": 2.0, "val_loss": 2.1}}, steps([2.0] * 60)),
        (
            {"status": "completed", "final_metrics": {"train_loss": 1.4, "val_loss": 1.5}},
            steps([3.0 - 0.03 * i for i in range(50)]),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=30)
    args = parser.parse_args()
    advisor = Advisor()
    cases = scenarios()
    sample = quote_data(
        "Summarise this log event and rate its severity. Nov 28 sshd[22]: Failed password for bob"
    )
    latencies, valid = [], 0
    for i in range(args.decisions + 1):
        result, events = cases[i % len(cases)]
        finding = detect(result, events, CONFIG, SUCCESS, prior_lr=1e-3)
        losses = [e["loss"] for e in events]
        prompt = render(
            "decide",
            task="Summarise syslog events",
            model_family="llama",
            attempt=1,
            max_attempts=4,
            settings={k: CONFIG[k] for k in ("learning_rate", "batch_size", "grad_accum", "max_seq_len")},
            finding=finding.summary(),
            curve=describe_curve(losses) or "no steps",
            candidates="\n".join(f"- {c.action}: {c.changes} ({c.why})" for c in finding.candidates),
            memory="- nothing similar remembered",
            samples=sample,
        )
        began = time.perf_counter()
        raw = advisor.complete_json(
            [
                {"role": "system", "content": "You are the training supervisor."},
                {"role": "user", "content": prompt},
            ],
            decision_schema(finding),
        )
        decision = validate_choice(raw, finding, CONFIG, 1e-3)
        elapsed = time.perf_counter() - began
        if i == 0:
            continue  # warm-up: model load
        latencies.append(elapsed)
        valid += decision.source == "advisor"
    ordered = sorted(latencies)
    summary = {
        "decisions": len(latencies),
        "median_s": statistics.median(latencies),
        "p95_s": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max_s": max(latencies),
        "schema_valid_and_in_bounds": valid,
    }
    print(
        f"advisor {advisor.path.name}: {summary['decisions']} decisions, median {summary['median_s']:.3f} s, "
        f"p95 {summary['p95_s']:.3f} s, max {summary['max_s']:.3f} s"
    )
    print(f"advisor answers accepted without fallback: {valid}/{len(latencies)}")
    print(f"target median <= 1.5 s: {'met' if summary['median_s'] <= 1.5 else 'NOT met'}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "advisor_latency.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
