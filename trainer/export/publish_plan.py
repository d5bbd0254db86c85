"""What publishing a run to the Hub would upload: the trained run behind RUN_DIR, checked, and its files.

What it is for: turning RUN_DIR (a supervised goal folder, or one trainer run folder) and the chosen
export formats into a :class:`PublishPlan` — the run's records the model card is written from, and
each file's place in the repo — or refusing with the reason: a repo id that is not ``owner/name``, a
goal or run that did not complete, a format that was not exported, an export whose self-check failed
or whose files no longer match ``exports/manifest.json``.
What it is not for: talking to the Hub (``hub_upload``), writing the card (``model_card``), or
building exports (``exporter``; ``publish`` there is the local swap of a format into ``exports/``).

Layout in the repo: the first format's files at the root (so ``PeftModel.from_pretrained(repo)``,
``llama-cli -hf repo`` find them), each further format in a folder of its name, ``loss.png`` at the
root. PEFT's own placeholder ``README.md`` is left out (the published card replaces it), and each
``adapter_config.json`` goes up with ``base_model_name_or_path`` set to the base's hub id (or null):
locally it is a path on this machine, which would not load elsewhere and should not be published.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from openlora.trainer.config import ExportFormat, is_hub_id, shown_value
from openlora.trainer.export.base_identity import BaseIdentity, identify_base
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import (
    GoalDir,
    RunDir,
    latest_attempt,
    read_events,
    read_json,
    run_start,
    sha256_file,
)

FORMATS: tuple[str, ...] = get_args(ExportFormat)
SAFE_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
CARD = "README.md"
ADAPTER_CONFIG = "adapter_config.json"


class PublishError(RuntimeError):
    """Publishing was refused or failed; the message says why and what to do (never the token)."""


class RepoIdError(PublishError):
    """The repo id given is not a valid ``owner/name``; the message names the argument."""


@dataclass(frozen=True)
class Upload:
    """One file of the commit: its path in the repo, and its bytes (a local file, or rewritten content)."""

    path_in_repo: str
    local: Path
    content: bytes | None = None  # set when the uploaded bytes differ from the local file


@dataclass
class PublishPlan:
    """A run ready to publish: the records the card is written from, and the files to upload."""

    run: RunDir  # the trained run (for a goal: its successful attempt)
    goal: GoalDir | None
    formats: list[str]
    spec: dict[str, Any]
    result: RunResult
    start: dict[str, Any]  # the run_start event (model type, parameters, dataset counts)
    base: BaseIdentity
    manifest: dict[str, Any]
    report: dict[str, Any] | None = None  # the goal's report.json
    evaluation: dict[str, Any] | None = None  # eval/report.json
    loss_plot: Path | None = None
    files: list[Upload] = field(default_factory=list)

    @property
    def root_format(self) -> str:
        return self.formats[0]

    def folder_of(self, name: str) -> str:
        """Where format ``name`` lives in the repo: '' (the root) for the first format, else its name."""
        return "" if name == self.root_format else name


def check_repo_id(value: str, argument: str) -> str:
    """``value`` when it is a Hub repo id ``owner/name``; else :class:`RepoIdError` naming ``argument``."""
    if "/" in value and is_hub_id(value):
        return value
    raise RepoIdError(
        f"{argument} {shown_value(value)}: not a valid Hub repo id (owner/name: letters, digits, '-', '_', "
        "'.', no '--' or '..', at most 96 characters)"
    )


def plan_publish(root: Path, formats: Sequence[str] | None = None) -> PublishPlan:
    """Check the run in ``root`` and what it exported; raises :class:`PublishError` saying why not."""
    goal, run, report = _trained_run(root)
    result = RunResult.read(run.result)
    if result.status != RunStatus.COMPLETED:
        raise PublishError(
            f"{run.root}: the run ended {result.status.value}, not completed; nothing to publish"
        )
    spec = read_json(run.spec)
    manifest = read_json(run.manifest).get("formats", {}) if run.manifest.is_file() else {}
    chosen = _chosen_formats(run, manifest, formats)
    plan = PublishPlan(
        run=run,
        goal=goal,
        formats=chosen,
        spec=spec,
        result=result,
        start=run_start(read_events(run.metrics)),
        base=identify_base(str(spec.get("base_model", "")), spec.get("revision")),
        manifest={name: manifest[name] for name in chosen},
        report=report,
        evaluation=read_json(run.evaluation_json) if run.evaluation_json.is_file() else None,
        loss_plot=goal.loss_plot if goal is not None and goal.loss_plot.is_file() else None,
    )
    plan.files = _uploads(plan)
    return plan


def _trained_run(root: Path) -> tuple[GoalDir | None, RunDir, dict[str, Any] | None]:
    """The run folder to publish: ``root`` itself, or the successful attempt of the goal in ``root``."""
    if RunDir(root).is_run():
        if not RunDir(root).result.is_file():
            raise PublishError(f"{root}: the run has not finished (no result yet); nothing to publish")
        return None, RunDir(root), None
    goal = GoalDir(root)
    if latest_attempt(root) is None and not goal.report_json.is_file():
        raise PublishError(f"{root}: neither a run folder (no spec.json) nor a supervised goal folder")
    if not goal.report_json.is_file():
        raise PublishError(f"{root}: the goal has not finished (no report yet); nothing to publish")
    report = read_json(goal.report_json)
    outcome = report.get("outcome")
    if outcome != "success":
        raise PublishError(
            f"{root}: the goal ended {outcome!r}, not success; only a goal that succeeded is published "
            "(its report.md says why it did not)"
        )
    completed = [a for a in report.get("attempts", []) if a.get("status") == RunStatus.COMPLETED.value]
    if not completed:
        raise PublishError(f"{root}: the goal's report names no completed attempt; nothing to publish")
    run = goal.attempt(int(completed[-1]["number"]))
    if not run.is_run() or not run.result.is_file():
        raise PublishError(f"{run.root}: the successful attempt's run folder is missing or incomplete")
    return goal, run, report


def _chosen_formats(run: RunDir, manifest: dict[str, Any], formats: Sequence[str] | None) -> list[str]:
    """The formats to publish, in order; every one exported, checked, and its files as the manifest says."""
    wanted = list(dict.fromkeys(formats or [name for name in FORMATS if name in manifest]))
    if not wanted:
        raise PublishError(f"{run.root}: nothing exported yet (exports/ is empty); run openlora-agent export")
    unknown = [name for name in wanted if name not in FORMATS]
    if unknown:
        raise PublishError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    for name in wanted:
        entry = manifest.get(name)
        if entry is None:
            raise PublishError(
                f"{run.root}: format {name} was not exported; run openlora-agent export {run.root} -f {name}"
            )
        failed = _failed_checks(entry)
        if failed:
            raise PublishError(
                f"export {name} failed its self-check ({', '.join(failed)}: the file does not reproduce the "
                "trained model); it is not published. Export it again, or publish the other formats"
            )
        _check_files(run, name, entry)
    return wanted


def _failed_checks(entry: dict[str, Any]) -> list[str]:
    """The labels of the entry's checks that did not pass (``check`` or per-file ``checks``)."""
    checks = dict(entry.get("checks") or {})
    if isinstance(entry.get("check"), dict):
        checks["check"] = entry["check"]
    return [
        label for label, check in checks.items() if isinstance(check, dict) and check.get("passed") is False
    ]


def _check_files(run: RunDir, name: str, entry: dict[str, Any]) -> None:
    """Every file the manifest lists for format ``name`` is there, with its size and SHA-256."""
    folder = run.exports / str(entry.get("path", name))
    files = entry.get("files") or {}
    if not files:
        raise PublishError(f"export {name}: the manifest lists no files; export it again")
    for relative, recorded in files.items():
        if not SAFE_PATH.fullmatch(relative):
            raise PublishError(
                f"export {name}: file name {shown_value(relative)} is not one the exporter writes"
            )
        path = folder / relative
        if not path.is_file():
            raise PublishError(f"export {name}: {path} is missing; export it again")
        if path.stat().st_size != recorded.get("bytes") or sha256_file(path) != recorded.get("sha256"):
            raise PublishError(
                f"export {name}: {path} changed since it was exported and checked (size or SHA-256 differs "
                "from exports/manifest.json); export it again"
            )


def _uploads(plan: PublishPlan) -> list[Upload]:
    uploads = []
    for name in plan.formats:
        entry = plan.manifest[name]
        folder = plan.run.exports / str(entry.get("path", name))
        prefix = f"{plan.folder_of(name)}/" if plan.folder_of(name) else ""
        for relative in sorted(entry["files"]):
            if relative == CARD:  # PEFT's placeholder card; the published card replaces it
                continue
            local = folder / relative
            content = (
                _adapter_config(local, plan.base.hub_id) if Path(relative).name == ADAPTER_CONFIG else None
            )
            uploads.append(Upload(prefix + relative, local, content))
    if plan.loss_plot is not None:
        uploads.append(Upload(plan.loss_plot.name, plan.loss_plot))
    return uploads


def _adapter_config(path: Path, hub_id: str | None) -> bytes:
    """``adapter_config.json`` with ``base_model_name_or_path`` the base's hub id (null when unknown)."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = hub_id
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
