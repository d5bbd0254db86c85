"""What a completed run hands over: the final adapter, then the extra outputs its config asks for.

For: publishing ``exports/adapter`` from the trained model at the end of training, and building
the config's other ``outputs`` (pt, merged, GGUF…) through the exporter with the model already in
memory, recording ``exported`` or ``export_failed`` events; a failed export turns a completed
result into status error with the reason as evidence. Not for: how a format is built or checked
(``export``), checkpoints, or training.
"""

from __future__ import annotations

from typing import Any

from openlora.trainer.config import TrainConfig
from openlora.trainer.export.hf_formats import write_adapter
from openlora.trainer.export.publish import publish
from openlora.trainer.models import ModelSource
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir
from openlora.trainer.telemetry import MetricsWriter


def publish_adapter(run_dir: RunDir, model: Any, tokenizer: Any) -> None:
    """Write the trained adapter (PEFT folder + tokenizer) to ``exports/adapter`` atomically."""
    publish(run_dir.exports, "adapter", lambda folder: write_adapter(model, tokenizer, folder))


def extra_outputs(config: TrainConfig) -> list[str]:
    """The formats beyond the adapter that the config's ``outputs`` name."""
    return [name for name in config.outputs if name != "adapter"]


def export_outputs(
    result: RunResult,
    run_dir: RunDir,
    config: TrainConfig,
    trained: tuple[ModelSource, Any, Any],
    metrics: MetricsWriter,
    step: int,
) -> RunResult:
    """Build the extra outputs from ``trained`` (source, tokenizer, model); a failure sets status error."""
    from openlora.trainer.export.exporter import ExportError, ExportSession, export_run

    extra = extra_outputs(config)
    if not extra:
        return result
    source, tokenizer, model = trained
    session = ExportSession(run_dir, config, source, tokenizer, model, run_dir.adapter)
    try:
        entries = export_run(run_dir.root, extra, config.gguf_types, session=session)
    except ExportError as exc:
        metrics.write("export_failed", step=step, message=str(exc))
        result.status = RunStatus.ERROR
        result.message = f"training completed but {exc}"
        result.evidence = {"kind": "export", "error": str(exc)}
        return result
    for name, entry in entries.items():
        metrics.write("exported", step=step, format=name, path=str(run_dir.exports / entry["path"]))
    result.evidence["exports"] = sorted(entries)
    return result
