"""``history``, ``incidents search|show`` and ``memory rebuild``: read and maintain OPENLORA_HOME.

What it is for: showing the run registry and the incident memory in the terminal, and rebuilding the
Chroma index from SQLite. It defines the ``incidents`` and ``memory`` sub-apps that ``main`` mounts.
What it is not for: storing or searching (``openlora.memory``), or recording runs (the training
commands do that after each run). Heavy imports stay inside the functions.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from openlora.cli.common import fail, format_metric

incidents_app = typer.Typer(help="Search and inspect remembered training incidents.", no_args_is_help=True)
memory_app = typer.Typer(help="Maintain the memory in OPENLORA_HOME.", no_args_is_help=True)


def history(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most recent runs to show.")] = 20,
) -> None:
    """Runs recorded in OPENLORA_HOME, newest first, with status and key metrics."""
    from openlora.memory.registry import RunRegistry

    runs = RunRegistry().history(limit)
    if not runs:
        typer.echo("no runs recorded yet")
        return
    typer.echo(f"{'run':<36} {'status':<11} {'att':>3} {'steps':>6} {'train':>8} {'val':>8}  created")
    for run in runs:
        m = run.final_metrics
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at))
        typer.echo(
            f"{run.id[:36]:<36} {run.status:<11} {run.attempts:>3} {int(m.get('steps', 0)):>6} "
            f"{format_metric(m.get('train_loss')):>8} {format_metric(m.get('val_loss')):>8}  {created}"
        )


@incidents_app.command("search")
def incidents_search(
    query: Annotated[str, typer.Argument(help='A symptom in words, e.g. "loss went nan at step 40".')],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many incidents.")] = 5,
    family: Annotated[str | None, typer.Option(help="Only this model family (llama, gpt2, …).")] = None,
    diagnosis: Annotated[str | None, typer.Option(help="Only this diagnosis (nan, oom, plateau, …).")] = None,
) -> None:
    """The most similar past incidents, and the fixes that worked on them."""
    from openlora.memory.incidents import IncidentMemory
    from openlora.memory.records import Diagnosis

    if diagnosis is not None and diagnosis not in {d.value for d in Diagnosis}:
        fail(f"--diagnosis {diagnosis!r}: choose from {', '.join(d.value for d in Diagnosis)}")
    memory = IncidentMemory()
    hits = memory.search(query, k, family, diagnosis)
    if not hits:
        typer.echo("no incidents recorded yet" if memory.count() == 0 else "no incident matches the filters")
        return
    for hit in hits:
        inc = hit.incident
        fix = f"{inc.fix.action} {inc.fix.changes}" if inc.fix else "no fix recorded"
        typer.echo(
            f"{hit.similarity:.3f}  {inc.id[:12]}  {inc.diagnosis.value:<10} {inc.model_family:<8} "
            f"{inc.outcome.value:<10} {fix}"
        )
    ranked = memory.rank_fixes(query, max(20, k), family, diagnosis)
    if ranked:
        typer.echo("fixes, best first:")
        for item in ranked:
            typer.echo(
                f"  {item.score:+.3f}  {item.fix.action} {item.fix.changes}  "
                f"worked {item.worked}/{item.tried}, failed {item.failed}"
            )


@incidents_app.command("show")
def incidents_show(
    incident_id: Annotated[str, typer.Argument(help="Incident id (or a unique prefix).")],
) -> None:
    """Everything remembered about one incident, as JSON."""
    import json

    from openlora.memory.incidents import IncidentMemory

    try:
        incident = IncidentMemory().get(incident_id)
    except KeyError as exc:
        fail(str(exc.args[0]), code=1)
    typer.echo(json.dumps(incident.to_json(), indent=2, default=str))


@memory_app.command("rebuild")
def memory_rebuild() -> None:
    """Rebuild the Chroma incident index from SQLite (the source of truth)."""
    from openlora.memory.incidents import IncidentMemory

    memory = IncidentMemory()
    count = memory.rebuild()
    typer.echo(f"rebuilt the incident index: {count} incidents ({memory.store.chroma_path})")
