"""Decision latency of the advisor with the embedded model (SmolLM2-135M-Instruct Q4_1, llama.cpp).

Builds realistic decision prompts (the real ``decide`` prompt, the allowed tool calls bound to the
advisor's chat model, as the supervisor's ``consult`` does) for several diagnoses and times the whole
constrained decision: prompt evaluation, grammar-constrained generation and Python validation.
Prints median, p95 and max over N decisions, after one warm-up that loads the model.
Target: median ≤ 1.5 s on this CPU.

Usage: python bench/advisor_latency.py [--decisions 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from openlora.advisor.client import Advisor, AdvisorChatModel
from openlora.agent.consult import SYSTEM
from openlora.agent.decision import allowed_calls, describe_candidates, validate_choice
from openlora.agent.detectors import detect, losses
from openlora.agent.goal import Success
from openlora.agent.records import Decision, Finding
from openlora.memory.signature import KEY_SETTINGS, describe_curve
from openlora.prompts import quote_data, render
from openlora.trainer.config import TrainConfig
from openlora.trainer.result import RunResult, RunStatus

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = TrainConfig.model_validate(
    {"dataset": "x.jsonl", "learning_rate": 3e-3, "batch_size": 8, "max_steps": 100}
).model_dump()
SUCCESS = Success(val_loss_below=1.0)
PRIOR_LR = 1e-3


def scenarios() -> list[tuple[RunResult, list[dict]]]:
    def steps(values):
        return [{"event": "step", "step": i + 1, "loss": v} for i, v in enumerate(values)]

    return [
        (
            RunResult(RunStatus.NAN, "loss became NaN", 41, {"loss": "nan", "lr": 3e-3}),
            steps([2.3 - 0.02 * i for i in range(40)] + [None]),
        ),
        (RunResult(RunStatus.OOM, "out of memory", 0, {"error": "CUDA out of memory"}), []),
        (
            RunResult(RunStatus.DIVERGED, "loss diverged", 30, {"loss": 9.0, "running_min": 1.2}),
            steps([2, 1.5, 1.2] + [9] * 8),
        ),
        (
            RunResult(RunStatus.COMPLETED, "ok", 60, final_metrics={"train_loss": 2.0, "val_loss": 2.1}),
            steps([2.0] * 60),
        ),
        (
            RunResult(RunStatus.COMPLETED, "ok", 50, final_metrics={"train_loss": 1.4, "val_loss": 1.5}),
            steps([3.0 - 0.03 * i for i in range(50)]),
        ),
    ]


def prompt(finding: Finding, events: list[dict[str, Any]], sample: str) -> str:
    """The supervisor's ``decide`` prompt for ``finding`` (no memory, one quoted sample)."""
    return render(
        "decide",
        task="Summarise syslog events",
        model_family="llama",
        attempt=1,
        max_attempts=4,
        settings={k: CONFIG.get(k) for k in KEY_SETTINGS},
        finding=finding.summary(),
        curve=describe_curve(losses(events)) or "no steps",
        candidates=describe_candidates(finding),
        memory="- nothing similar remembered",
        samples=sample,
    )


def decide(advisor: Advisor, finding: Finding, text: str) -> Decision:
    """One constrained decision, as ``agent.consult`` makes it: the allowed calls bound, then validated."""
    model = AdvisorChatModel(advisor=advisor).bind(tools=allowed_calls(finding))
    message = model.invoke([SystemMessage(SYSTEM), HumanMessage(text)])
    raw: Any = message.tool_calls[0] if message.tool_calls else str(message.content)
    return validate_choice(raw, finding, CONFIG, PRIOR_LR)


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
        finding = detect(result, events, CONFIG, SUCCESS, prior_lr=PRIOR_LR)
        text = prompt(finding, events, sample)
        began = time.perf_counter()
        decision = decide(advisor, finding, text)
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
