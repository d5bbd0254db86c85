"""The ``openlora-agent`` command line (Typer).

Heavy libraries (torch, transformers, peft) are imported inside the commands that need them, so
``openlora-agent --help`` answers at once. Commands stay thin: they parse arguments, call the
core, and print; they never hold training logic.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="openlora-agent",
    help="OpenLoRA: LoRA fine-tuning that watches and repairs its own training runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def train(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="Training config (YAML).")],
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder that receives the run directory.")] = Path(
        "runs"
    ),
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Exact run directory to create (must not exist).")
    ] = None,
) -> None:
    """Train a LoRA adapter from CONFIG.yaml; results land in runs/<name>-<time>/."""
    from openlora.trainer.config import ConfigError, load_config
    from openlora.trainer.rundir import RunDir, unique_run_dir, write_json_atomic

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))
    target = run_dir or unique_run_dir(runs_root, config.name)
    if target.exists():
        _fail(f"--run-dir {target} already exists; use `openlora-agent resume {target}` to continue it")
    target.mkdir(parents=True)
    write_json_atomic(RunDir(target).spec, config.model_dump())
    typer.echo(f"run directory: {target}", err=True)
    _run_and_report(target)


@app.command()
def run(
    goal_path: Annotated[Path, typer.Argument(metavar="GOAL.yaml", help="The goal to pursue.")],
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder that receives the run folder.")] = Path(
        "runs"
    ),
    resume_run: Annotated[
        bool, typer.Option("--resume", help="Continue the latest run of this goal.")
    ] = False,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Exact run folder (new, or to resume).")
    ] = None,
) -> None:
    """Pursue a goal unattended: train, watch, diagnose, fix, relaunch, export, report."""
    from openlora.agent.goal import GoalError
    from openlora.agent.runner import RunError, run_goal

    approve = _ask_in_terminal if sys.stdin.isatty() else None
    try:
        final = run_goal(
            goal_path,
            runs_root,
            resume_run,
            run_dir,
            echo=lambda line: typer.echo(line, err=True),
            approve=approve,
        )
    except (GoalError, RunError) as exc:
        _fail(str(exc))
    root = Path(final["run_root"])
    typer.echo(f"outcome: {final.get('outcome')} after {len(final.get('attempts', []))} attempt(s)")
    typer.echo(f"report: {root / 'report.md'}")
    if final.get("outcome") != "success":
        raise typer.Exit(1)


def _ask_in_terminal(asked: dict[str, Any]) -> dict[str, Any]:
    """``approval: ask`` without the TUI: show the proposal, read approve / edit / veto."""
    import json

    if "error" in asked:
        typer.echo(f"not applied: {asked['error']}", err=True)
    typer.echo(
        f"\nattempt {asked['attempt']}: {asked['diagnosis']} → {asked['action']} {asked['changes']}\n"
        f"  why: {asked['reason']} [{asked['source']}]",
        err=True,
    )
    choice = typer.prompt("approve, edit or veto", default="approve")
    if choice == "edit":
        text = typer.prompt("settings as JSON", default=json.dumps(asked["changes"]))
        try:
            return {"choice": "edit", "changes": json.loads(text)}
        except ValueError as exc:
            return {"choice": "edit", "changes": {"invalid JSON": str(exc)}}
    return {"choice": choice}


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="Run directory holding spec.json and checkpoints/.")],
) -> None:
    """Continue a run from its newest complete checkpoint."""
    if not (run_dir / "spec.json").is_file():
        _fail(f"{run_dir}: no spec.json; not a run directory")
    _run_and_report(run_dir)


def _run_and_report(target: Path) -> None:
    from openlora.trainer.main import run_training
    from openlora.trainer.result import RunStatus

    result = run_training(target)
    _register(target)
    typer.echo(f"status: {result.status.value}", err=True)
    typer.echo(f"message: {result.message}", err=True)
    for key, value in result.final_metrics.items():
        typer.echo(f"  {key}: {value:.6g}", err=True)
    if result.adapter_dir:
        typer.echo(f"adapter: {result.adapter_dir}", err=True)
    typer.echo(f"result: {target / 'result.json'}", err=True)
    if result.status != RunStatus.COMPLETED:
        raise typer.Exit(1)


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (holds spec.json and a trained adapter).")],
    formats: Annotated[
        list[str],
        typer.Option("--format", "-f", help="adapter, pt, merged, gguf-adapter or gguf; repeat for several."),
    ],
    gguf_types: Annotated[
        list[str] | None, typer.Option("--gguf-type", help="Merged GGUF precision: f16, q8_0 (default both).")
    ] = None,
) -> None:
    """Export a trained run; every GGUF is checked in llama.cpp before it is published."""
    from openlora.trainer.config import ConfigError
    from openlora.trainer.export.exporter import GGUF_PRECISIONS, ExportError, export_run

    if not (run_dir / "spec.json").is_file():
        _fail(f"{run_dir}: no spec.json; not a run directory")
    precisions = gguf_types or list(GGUF_PRECISIONS)
    bad = [p for p in precisions if p not in GGUF_PRECISIONS]
    if bad:
        _fail(f"--gguf-type {bad[0]!r}: choose from {', '.join(GGUF_PRECISIONS)}")
    try:
        entries = export_run(run_dir, formats, precisions)  # type: ignore[arg-type]
    except (ExportError, ConfigError) as exc:
        _fail(str(exc), code=1)
    for name, entry in entries.items():
        folder = run_dir / "exports" / entry["path"]
        typer.echo(f"{name}: {folder}")
        checks = entry.get("checks") or ({"": entry["check"]} if "check" in entry else {})
        for label, check in checks.items():
            figures = ", ".join(
                f"{k}={v}" for k, v in check.items() if k not in ("passed", "threshold", "prompts")
            )
            typer.echo(f"  check {label}: {figures}".replace("check :", "check:"))
    typer.echo(f"manifest: {run_dir / 'exports' / 'manifest.json'}")


@app.command("chat-model")
def chat_model(
    run_dir: Annotated[Path | None, typer.Argument(help="Run directory with a GGUF export.")] = None,
    gguf: Annotated[Path | None, typer.Option("--gguf", help="GGUF model file instead of a run.")] = None,
    lora: Annotated[Path | None, typer.Option("--lora", help="LoRA adapter GGUF to apply to --gguf.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, max=8192, help="Most tokens per answer.")] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, max=5.0, help="Sampling temperature.")] = 0.7,
    system: Annotated[str | None, typer.Option(help="System message for the conversation.")] = None,
) -> None:
    """Chat in the terminal with an exported model (streams tokens; Ctrl-D quits)."""
    from openlora.cli.chat import ChatModelError, resolve_run_models, run_chat
    from openlora.trainer.export.gguf_check import GGUFCheckError

    if (run_dir is None) == (gguf is None):
        _fail("give a RUN_DIR or --gguf PATH (not both)")
    if lora is not None and gguf is None:
        _fail("--lora needs --gguf")
    try:
        model, adapter = resolve_run_models(run_dir) if run_dir is not None else (gguf, lora)
        code = run_chat(model, adapter, max_tokens, temperature, system)
    except (ChatModelError, GGUFCheckError) as exc:
        _fail(str(exc), code=1)
    raise typer.Exit(code)


def _register(target: Path) -> None:
    """Record the run in the registry (OPENLORA_HOME); a registry problem never fails the training."""
    from openlora.memory.registry import RunRegistry

    try:
        RunRegistry().record_run_dir(target)
    except Exception as exc:  # the run itself is safe on disk; say why history will miss it
        typer.echo(f"warning: could not record the run in the registry: {exc}", err=True)


@app.command()
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
            f"{_fmt(m.get('train_loss')):>8} {_fmt(m.get('val_loss')):>8}  {created}"
        )


def _fmt(value: float | str | None) -> str:
    if isinstance(value, int | float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)  # a NaN is stored as "nan"


incidents_app = typer.Typer(help="Search and inspect remembered training incidents.", no_args_is_help=True)
memory_app = typer.Typer(help="Maintain the memory in OPENLORA_HOME.", no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")
app.add_typer(memory_app, name="memory")


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
        _fail(f"--diagnosis {diagnosis!r}: choose from {', '.join(d.value for d in Diagnosis)}")
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
        _fail(str(exc.args[0]), code=1)
    typer.echo(json.dumps(incident.to_json(), indent=2, default=str))


@memory_app.command("rebuild")
def memory_rebuild() -> None:
    """Rebuild the Chroma incident index from SQLite (the source of truth)."""
    from openlora.memory.incidents import IncidentMemory

    memory = IncidentMemory()
    count = memory.rebuild()
    typer.echo(f"rebuilt the incident index: {count} incidents ({memory.store.chroma_path})")


@app.command("eval")
def eval_run(
    run_dir: Annotated[Path, typer.Argument(help="Run directory with a trained adapter.")],
    against: Annotated[str, typer.Option("--against", help="Compare with: base, or none.")] = "base",
    n: Annotated[int, typer.Option("--n", min=1, max=10_000, help="Most held-out samples to score.")] = 100,
    max_new_tokens: Annotated[
        int, typer.Option(min=1, max=2048, help="Most tokens per generated answer.")
    ] = 48,
    json_output: Annotated[bool, typer.Option("--json", help="Outputs must be valid JSON.")] = False,
    labels: Annotated[str | None, typer.Option(help="Outputs must be one of these, comma-separated.")] = None,
) -> None:
    """Score the adapter (and the base) on the run's held-out pairs; writes RUN_DIR/eval/report.{json,md}."""
    from openlora.evaluation.engine import FormatChecks, evaluate_run

    if against not in ("base", "none"):
        _fail(f"--against {against!r}: use base or none")
    if not (run_dir / "spec.json").is_file():
        _fail(f"{run_dir}: no spec.json; not a run directory")
    checks = FormatChecks(json=json_output, labels=[x.strip() for x in labels.split(",")] if labels else [])
    try:
        report = evaluate_run(run_dir, against == "base", n, max_new_tokens, checks)
    except ValueError as exc:
        _fail(str(exc), code=1)
    from openlora.evaluation.engine import render_markdown

    typer.echo(render_markdown(report, examples=0))
    typer.echo(f"report: {run_dir / 'eval' / 'report.md'}")


@app.command("import-logs")
def import_logs_command(
    log_file: Annotated[Path, typer.Argument(help="Log file: syslog lines, JSON events or CEF, mixed.")],
    out: Annotated[Path, typer.Option("--out", help="JSONL file of prompt/response pairs to write.")],
) -> None:
    """Turn a log file into instruction pairs (summarise, classify severity, extract indicators)."""

    from openlora.synthesis.importers import import_logs
    from openlora.trainer.rundir import write_json_atomic, write_jsonl_atomic

    if not log_file.is_file():
        _fail(f"{log_file}: no such file")
    pairs, report = import_logs(log_file)
    write_jsonl_atomic(out, pairs)
    write_json_atomic(out.with_suffix(".report.json"), report.to_json())
    shown = ", ".join(str(n) for n in report.malformed_lines[:10])
    typer.echo(f"{report.events} events ({report.by_format}) → {report.pairs} pairs in {out}")
    typer.echo(f"malformed lines: {report.malformed}" + (f" (lines {shown})" if shown else ""))


@app.command()
def synth(
    seed_file: Annotated[
        Path, typer.Argument(help="Example prompt/response pairs (.jsonl or .csv), 3 or more.")
    ],
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write the new pairs to.")],
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many new pairs.")] = 200,
    eval_file: Annotated[Path | None, typer.Option("--eval", help="Eval set that must not leak in.")] = None,
    model: Annotated[
        str, typer.Option(help="Generator GGUF; default the embedded SmolLM2.")
    ] = "embedded:smollm2",
    seed: Annotated[int, typer.Option(min=0, help="Sampling seed.")] = 0,
) -> None:
    """Generate new training pairs from a few examples, through the quality gate (report beside --out)."""

    from openlora.llm.advisor import Advisor
    from openlora.synthesis.generate import read_pairs, synthesize
    from openlora.trainer.data_files import DataError
    from openlora.trainer.rundir import write_json_atomic, write_jsonl_atomic

    try:
        seeds = read_pairs(seed_file)
        eval_items = read_pairs(eval_file) if eval_file else []
    except DataError as exc:
        _fail(str(exc))
    if len(seeds) < 3:
        _fail(f"{seed_file}: needs at least 3 prompt/response pairs, found {len(seeds)}")
    result = synthesize(
        seeds, n, Advisor(model, temperature=0.8, max_tokens=200, seed=seed), eval_items, seed
    )
    write_jsonl_atomic(out, result.pairs)
    write_json_atomic(out.with_suffix(".report.json"), result.report)
    typer.echo(f"{len(result.pairs)} pairs written to {out}; dropped: {result.report['dropped']}")


@app.command()
def metrics(
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder holding run folders.")] = Path("runs"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the /metrics endpoint.")] = 9464,
    host: Annotated[str, typer.Option(help="Address to bind (default loopback only).")] = "127.0.0.1",
) -> None:
    """Serve Prometheus metrics for every run under --runs until interrupted."""
    import threading

    from openlora.observability.exporter import serve

    server, _ = serve(runs_root, port, host)
    typer.echo(f"serving http://{host}:{port}/metrics for {runs_root} (Ctrl-C stops)", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


@app.command()
def tui(
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder that receives run folders.")] = Path(
        "runs"
    ),
    web: Annotated[bool, typer.Option("--web", help="Serve the app to a browser (textual-serve).")] = False,
    host: Annotated[
        str, typer.Option(help="Address to bind with --web (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --web.")] = 8080,
    base_model: Annotated[
        str, typer.Option("--base-model", help="Base model new drafts start from.")
    ] = "embedded:smollm2",
    approval: Annotated[str, typer.Option(help="Approval policy of new drafts: ask or auto.")] = "ask",
) -> None:
    """The conversational app: describe a tuning job, review the draft, approve, watch, approve fixes."""
    if approval not in ("ask", "auto"):
        _fail(f"--approval: expected ask or auto, got {approval!r}")
    if web:
        import shlex

        from textual_serve.server import Server

        command = shlex.join(
            [
                sys.executable,
                "-m",
                "openlora.tui",
                "--runs",
                str(runs_root.resolve()),
                "--base-model",
                base_model,
                "--approval",
                approval,
            ]
        )
        typer.echo(f"serving the OpenLoRA TUI on http://{host}:{port}", err=True)
        Server(command, host=host, port=port, title="OpenLoRA").serve()
        return
    from openlora.tui.app import OpenLoRAApp
    from openlora.tui.services import TuiSettings

    OpenLoRAApp(TuiSettings(runs=runs_root.resolve(), base_model=base_model, approval=approval)).run()


@app.command()
def version() -> None:
    """Print the OpenLoRA version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("openlora"))


def main() -> None:  # pragma: no cover - console entry convenience
    app(sys.argv[1:])
