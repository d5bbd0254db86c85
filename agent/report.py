"""report.md, report.json and loss.png in the run folder: what was asked, tried, found and done.

``report.json`` is the :class:`GoalRun` as JSON (every decision a tool call with its arguments);
``report.md`` says the same for a person, composed from the records — no model-written prose.
"""

from __future__ import annotations

import json
from pathlib import Path

from openlora.agent.records import AttemptRecord, Decision
from openlora.agent.state import GoalRun
from openlora.trainer.rundir import GoalDir, RunDir, loss_trace, write_json_atomic


def _plot(run: GoalRun, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    for attempt in run.attempts:
        trace = loss_trace(RunDir(Path(attempt.run_dir)).metrics)
        if trace:
            ax.plot(
                list(trace), list(trace.values()), label=f"attempt {attempt.number} ({attempt.status.value})"
            )
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(run.goal.name)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report_json(run: GoalRun) -> dict:
    """The report's data: the goal as written in goal.yaml, and every record as JSON."""
    data = run.model_dump(mode="json", by_alias=True)
    for report in ("dataset", "validation"):
        if data.get(report):
            data[report].pop("samples", None)  # dataset text stays out of the report
    return data


def write_report(run: GoalRun) -> dict[str, str]:
    folder = GoalDir(Path(run.run_root))
    write_json_atomic(folder.report_json, report_json(run))
    _plot(run, folder.loss_plot)
    goal = run.goal
    outcome = run.outcome.value if run.outcome else None
    lines = [
        f"# {goal.name}: {outcome}",
        "",
        f"Task: {goal.task}",
        "",
        f"Success means: {goal.success.model_dump(exclude_none=True)}",
        "",
    ]
    lines += _data_lines(run)
    lines += ["## Plan", ""] + [f"- {note}" for note in (run.plan.notes if run.plan else [])]
    for hit in run.plan.memory_hits if run.plan else []:
        lines.append(
            f"- memory hit: incident {hit['incident'][:12]} ({hit['diagnosis']}, similarity "
            f"{hit['similarity']}) fixed by {hit['fix']}"
        )
    lines += _preflight_lines(run)
    lines += _memory_probe_lines(run) + _probe_lines(run)
    lines += ["", "## Attempts", ""]
    for attempt in run.attempts:
        lines += [*_attempt_lines(attempt), ""]
    lines += ["## Exports", "", json.dumps(run.exports, indent=2)[:2000], "", "![loss](loss.png)", ""]
    lines += _published_lines(run)
    folder.report_md.write_text("\n".join(lines), encoding="utf-8")
    return {"md": str(folder.report_md), "json": str(folder.report_json), "png": str(folder.loss_plot)}


def _published_lines(run: GoalRun) -> list[str]:
    """Where the goal was published on the Hub, or why that failed (the goal is a success either way)."""
    published = run.published
    if not published:
        return []
    if "error" in published:
        return ["## Published", "", f"Publishing to {published['repo']} failed: {published['error']}", ""]
    unchanged = "" if published.get("changed") else " (nothing had changed: no new commit)"
    return [
        "## Published",
        "",
        f"{published['url']} at commit {published['commit']}{unchanged}: {', '.join(published['files'])}",
        "",
    ]


def _preflight_lines(run: GoalRun) -> list[str]:
    """Every setting as judged before attempt 1 (agent/EVIDENCE.md says what each quantity means)."""
    checks = run.plan.preflight if run.plan else []
    if not checks:
        return []
    lines = [
        "",
        "## Pre-flight check",
        "",
        "| quantity | settings | figure | healthy | verdict |",
        "|---|---|---|---|---|",
    ]
    for check in checks:
        verdict = check.verdict.value if not check.out_of_range else f"**{check.verdict.value}**"
        lines.append(
            f"| {check.quantity} | {', '.join(check.keys)} | {check.figure(check.value)} | {check.healthy()} "
            f"| {verdict} |"
        )
    return lines


def _probe_lines(run: GoalRun) -> list[str]:
    """The learning-rate range test's curve, one row a step, and what it suggested."""
    found = run.plan.lr_probe if run.plan else None
    if not found:
        return []
    suggested = found.get("suggested_lr")
    verdict = f"suggested {suggested:.3g}" if suggested else "no suggestion (the loss never fell)"
    lines = [
        "",
        "## Learning-rate probe",
        "",
        f"{len(found['curve'])} steps from {found['low']:.3g} to {found['high']:.3g}, ended "
        f"{found['status']} in {found['seconds']:g} s; {verdict}.",
        "",
        "| step | learning rate | loss |",
        "|---|---|---|",
    ]
    for step, (lr, loss) in enumerate(found["curve"], start=1):
        lines.append(f"| {step} | {lr:.3g} | {loss:.4g} |")
    return lines


def _memory_probe_lines(run: GoalRun) -> list[str]:
    """The memory probe's trials, one row a micro-batch size."""
    found = run.plan.memory_probe if run.plan else None
    if not found or not found.get("trials"):
        return []
    lines = [
        "",
        "## Memory probe",
        "",
        f"One step per micro-batch of the longest training sequence on {found['device']} "
        f"({found['budget_gib']} GiB to fit into), {found['seconds']:g} s; largest that fits: "
        f"{found['largest_fitting'] or 'none'}.",
        "",
        "| batch_size | tokens | fits | peak GiB | seconds |",
        "|---|---|---|---|---|",
    ]
    for t in found["trials"]:
        fits = "yes" if t["fits"] else "out of memory"
        peak = f"{t['peak_gib']:.3f}"
        lines.append(f"| {t['batch_size']} | {t['tokens']} | {fits} | {peak} | {t['seconds']:g} |")
    return lines


def _data_lines(run: GoalRun) -> list[str]:
    dataset = run.dataset
    if dataset is None or not dataset.problems:
        return []
    blocking = set(dataset.blocking)
    lines = ["## Data", ""]
    lines += [f"- {'**blocking**: ' if problem in blocking else ''}{problem}" for problem in dataset.problems]
    if blocking and not run.attempts:
        lines.append("- nothing was trained: repair the data, or set `bad_data: warn` to train anyway")
    return [*lines, ""]


def _attempt_lines(attempt: AttemptRecord) -> list[str]:
    cfg = attempt.config
    metrics = ", ".join(
        f"{k} {v:.4g}" if isinstance(v, int | float) else f"{k} {v}"  # a NaN is stored as "nan"
        for k, v in attempt.final_metrics.items()
    )
    lines = [
        f"### Attempt {attempt.number}: {attempt.status.value}",
        "",
        f"- config: lr {cfg['learning_rate']:g}, batch {cfg['batch_size']}×{cfg['grad_accum']}, "
        f"seq {cfg['max_seq_len']}, warmup {cfg['warmup_steps']}, max_steps {cfg['max_steps']}",
        f"- result: {attempt.message}",
        f"- metrics: {metrics or 'none'}",
    ]
    lines += [f"- live patch {p['patch_id']} at step {p['step']}: {p['changes']}" for p in attempt.patches]
    if attempt.evaluation:
        from openlora.evaluation.engine import summary_table

        evaluation = attempt.evaluation
        lines += [
            "",
            f"Evaluation on {evaluation['samples']} held-out samples:",
            "",
            *summary_table(evaluation["summary"]),
            "",
        ]
    if attempt.finding:
        evidence = json.dumps(attempt.finding.evidence, default=str)[:400]
        lines.append(f"- diagnosis: **{attempt.finding.diagnosis.value}**, evidence {evidence}")
    if attempt.decision:
        lines += _decision_lines(attempt.decision)
    return lines


def _decision_lines(decision: Decision) -> list[str]:
    lines = [
        f"- decision ({decision.source.value}): **{decision.action.value}** as `{decision.call.text()}`",
        f"- why: {decision.explanation()}",
    ]
    if decision.rejected:
        lines.append(f"- the advisor's own call was refused: {decision.rejected}")
    lines += [
        f"- memory: {fix['fix']['action']} {fix['fix']['changes']} worked {fix['worked']}, "
        f"failed {fix['failed']}"
        for fix in decision.memory
    ]
    return lines
