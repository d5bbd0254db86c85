"""report.md, report.json and loss.png in the run folder: what was asked, tried, found and done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openlora.trainer.rundir import loss_trace, write_json_atomic


def _plot(state: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    for attempt in state.get("attempts", []):
        trace = loss_trace(Path(attempt["run_dir"]) / "metrics.jsonl")
        if trace:
            ax.plot(
                list(trace), list(trace.values()), label=f"attempt {attempt['number']} ({attempt['status']})"
            )
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(state["goal"]["name"])
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(state: dict[str, Any]) -> dict[str, str]:
    root = Path(state["run_root"])
    goal = state["goal"]
    attempts = state.get("attempts", [])
    data = {
        "goal": goal,
        "outcome": state.get("outcome"),
        "plan": state.get("plan_notes", []),
        "memory_hits": state.get("memory_hits", []),
        "dataset": {k: v for k, v in state.get("dataset", {}).items() if k != "samples"},
        "attempts": attempts,
        "exports": state.get("exports", {}),
        "timeline": state.get("timeline", []),
    }
    write_json_atomic(root / "report.json", data)
    _plot(state, root / "loss.png")
    lines = [
        f"# {goal['name']}: {state.get('outcome')}",
        "",
        f"Task: {goal['task']}",
        "",
        f"Success means: {goal['success']}",
        "",
    ]
    dataset = state.get("dataset", {})
    if dataset.get("problems"):
        blocking = set(dataset.get("blocking", []))
        lines += ["## Data", ""]
        lines += [
            f"- {'**blocking**: ' if problem in blocking else ''}{problem}" for problem in dataset["problems"]
        ]
        if blocking and not attempts:
            lines.append("- nothing was trained: repair the data, or set `bad_data: warn` to train anyway")
        lines.append("")
    lines += ["## Plan", ""]
    lines += [f"- {note}" for note in state.get("plan_notes", [])]
    for hit in state.get("memory_hits", []):
        lines.append(
            f"- memory hit: incident {hit['incident'][:12]} ({hit['diagnosis']}, similarity "
            f"{hit['similarity']}) fixed by {hit['fix']}"
        )
    lines += ["", "## Attempts", ""]
    for attempt in attempts:
        cfg = attempt["config"]
        metrics = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, int | float) else f"{k} {v}"  # a NaN is stored as "nan"
            for k, v in attempt.get("final_metrics", {}).items()
        )
        lines += [
            f"### Attempt {attempt['number']}: {attempt['status']}",
            "",
            f"- config: lr {cfg['learning_rate']:g}, batch {cfg['batch_size']}×{cfg['grad_accum']}, "
            f"seq {cfg['max_seq_len']}, warmup {cfg['warmup_steps']}, max_steps {cfg['max_steps']}",
            f"- result: {attempt['message']}",
            f"- metrics: {metrics or 'none'}",
        ]
        for patch in attempt.get("patches", []):
            lines.append(f"- live patch {patch['patch_id']} at step {patch['step']}: {patch['changes']}")
        evaluation = attempt.get("evaluation")
        if evaluation:
            from openlora.evaluation.engine import summary_table

            lines += [
                "",
                f"Evaluation on {evaluation['samples']} held-out samples:",
                "",
                *summary_table(evaluation["summary"]),
                "",
            ]
        finding = attempt.get("finding")
        if finding:
            lines.append(
                f"- diagnosis: **{finding['diagnosis']}**, evidence {json.dumps(finding['evidence'])[:400]}"
            )
        decision = attempt.get("decision")
        if decision:
            lines.append(f"- decision: **{decision['action']}** {decision['changes']} ({decision['source']})")
            lines.append(f"- reason ({decision['source']}): {decision['reason']}")
            if decision.get("rule"):
                lines.append(f"- rule behind the candidate: {decision['rule']}")
            if decision.get("rejected"):
                lines.append(f"- the advisor's own choice was refused: {decision['rejected']}")
            for fix in decision.get("memory") or []:
                lines.append(
                    f"- memory: {fix['fix']['action']} {fix['fix']['changes']} worked {fix['worked']}, "
                    f"failed {fix['failed']}"
                )
        lines.append("")
    lines += [
        "## Exports",
        "",
        f"{json.dumps(state.get('exports', {}), indent=2)[:2000]}",
        "",
        "![loss](loss.png)",
        "",
    ]
    (root / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return {"md": str(root / "report.md"), "json": str(root / "report.json"), "png": str(root / "loss.png")}
