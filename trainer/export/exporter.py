"""Exporting a run: load its base and trained adapter once, then build each requested format.

Formats: ``adapter`` (PEFT folder), ``pt`` (LoRA state dict), ``merged`` (HF folder, safetensors),
``gguf-adapter`` (LoRA GGUF for llama.cpp on the base GGUF), ``gguf`` (merged model GGUF in f16
and q8_0, with an Ollama Modelfile). Every GGUF is checked in llama.cpp against the transformers
model before it is published; the figures go into ``exports/manifest.json``. GGUF formats for a
family or tokenizer the GGUF writer does not convert are refused before anything is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np

from openlora.trainer import checkpoints
from openlora.trainer.config import ExportFormat, GGUFType, TrainConfig
from openlora.trainer.export import gguf_metadata, gguf_tensors
from openlora.trainer.export.gguf_check import check_prompt_ids, measure_agreement, reference_logits
from openlora.trainer.export.gguf_write import Precision, write_gguf
from openlora.trainer.export.hf_formats import write_adapter, write_merged, write_pt
from openlora.trainer.export.modelfile import render_modelfile
from openlora.trainer.export.publish import publish
from openlora.trainer.models import ModelSource, fetch_source, load_base_model, load_tokenizer, resolve_source
from openlora.trainer.quiet import quiet_libraries
from openlora.trainer.rundir import RunDir

FORMATS: tuple[str, ...] = get_args(ExportFormat)
GGUF_PRECISIONS: tuple[Precision, ...] = get_args(GGUFType)


class ExportError(RuntimeError):
    """An export could not be produced; the message names the format and why."""


@dataclass
class ExportSession:
    """A run's base model, tokenizer and trained adapter, loaded once for all formats."""

    run_dir: RunDir
    config: TrainConfig
    source: ModelSource
    tokenizer: Any
    model: Any
    adapter_from: Path
    _reference: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def prompt_ids(self) -> list[list[int]]:
        return check_prompt_ids(self.tokenizer)

    @property
    def reference(self) -> list[np.ndarray]:
        if self._reference is None:
            self._reference = reference_logits(self.model, self.prompt_ids)
        return self._reference

    @property
    def base_gguf(self) -> Path | None:
        return Path(self.source.path) / self.source.gguf_file if self.source.kind == "gguf" else None

    @property
    def alpha(self) -> float:
        return float(self.model.peft_config["default"].lora_alpha)

    def adapter_state(self) -> dict[str, Any]:
        from peft import get_peft_model_state_dict

        return get_peft_model_state_dict(self.model)

    def base_state(self) -> dict[str, Any]:
        state = self.model.get_base_model().state_dict()
        return {k.replace(".base_layer", ""): v for k, v in state.items() if "lora_" not in k}


def trained_adapter(run_dir: RunDir) -> Path:
    """The final adapter if the run completed, else the newest complete checkpoint's."""
    if (run_dir.adapter / "adapter_model.safetensors").is_file():
        return run_dir.adapter
    newest = checkpoints.newest_complete(run_dir.checkpoints)
    if newest is None:
        raise ExportError(
            f"{run_dir.root}: no trained adapter yet (no exports/adapter, no complete checkpoint)"
        )
    return newest.path / "adapter"


def open_session(root: Path) -> ExportSession:
    """Load spec, base model and adapter of the run in ``root`` (CPU, float32)."""
    import torch
    from peft import PeftModel

    from openlora.trainer.main import load_spec

    run_dir = RunDir(root)
    config = load_spec(run_dir)
    source = fetch_source(resolve_source(config))
    tokenizer = load_tokenizer(source)
    adapter = trained_adapter(run_dir)
    base = load_base_model(source, config, use_cuda=False, compute_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(adapter), is_trainable=False).eval()
    return ExportSession(run_dir, config, source, tokenizer, model, adapter)


def export_run(
    root: Path,
    formats: Iterable[str],
    precisions: Iterable[Precision] = GGUF_PRECISIONS,
    session: ExportSession | None = None,
) -> dict[str, dict[str, Any]]:
    """Build and publish each format; returns manifest entries. Raises ExportError on the first failure.

    Library output of the model work (progress bars, warnings) goes to the run's ``trainer.log``.
    """
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown export format(s) {unknown}; choose from {', '.join(FORMATS)}")
    with quiet_libraries(RunDir(root).trainer_log, "export"):
        return _build_formats(session or open_session(root), wanted, tuple(precisions))


def _build_formats(
    session: ExportSession, wanted: list[str], precisions: tuple[Precision, ...]
) -> dict[str, dict[str, Any]]:
    builders = {
        "adapter": lambda d: write_adapter(session.model, session.tokenizer, d),
        "pt": lambda d: write_pt(session.model, d),
        "merged": lambda d: _merged(session, d),
        "gguf-adapter": lambda d: _gguf_adapter(session, d),
        "gguf": lambda d: _gguf_merged(session, d, precisions),
    }
    _refuse_unsupported_gguf(session, wanted)
    entries = {}
    for name in wanted:
        try:
            entries[name] = publish(session.run_dir.exports, name, builders[name])
        except Exception as exc:
            raise ExportError(f"export {name} failed: {exc}") from exc
        entries[name]["adapter_from"] = str(session.adapter_from)
    return entries


def _refuse_unsupported_gguf(session: ExportSession, wanted: list[str]) -> None:
    """Refuse GGUF formats for a family (or tokenizer) the GGUF writer cannot convert, before any
    format is built."""
    asked = [name for name in wanted if name.startswith("gguf")]
    if not asked or session.base_gguf is not None:
        return
    reason = gguf_tensors.unsupported_reason(getattr(session.model.config, "model_type", ""))
    reason = reason or gguf_metadata.tokenizer_refusal(session.tokenizer)
    if reason is not None:
        raise ExportError(f"export {', '.join(asked)} refused: {reason}")


def _merged(session: ExportSession, folder: Path) -> dict[str, Any]:
    import torch
    from peft import PeftModel

    base = load_base_model(session.source, session.config, use_cuda=False, compute_dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(session.adapter_from)).merge_and_unload()
    return write_merged(merged, session.tokenizer, folder, session.prompt_ids, session.reference)


def _arch_and_base(session: ExportSession) -> tuple[gguf_tensors.ArchInfo, Any]:
    if session.base_gguf is not None:
        import gguf

        reader = gguf.GGUFReader(str(session.base_gguf))
        return gguf_tensors.arch_from_gguf(reader), reader
    return gguf_tensors.arch_from_hf_config(session.model.config), None


def _base_tensors(
    session: ExportSession, info: gguf_tensors.ArchInfo, reader: Any
) -> Iterator[tuple[str, Any]]:
    if reader is not None:
        return gguf_tensors.gguf_base_tensors(reader)
    tied = bool(getattr(session.model.config, "tie_word_embeddings", False))
    return gguf_tensors.hf_base_tensors(info, session.base_state(), tied)


def _metadata(session: ExportSession, info: gguf_tensors.ArchInfo, reader: Any) -> list[gguf_metadata.KV]:
    if reader is not None:
        return gguf_metadata.copy_from_gguf(reader)
    return gguf_metadata.from_hf(session.model.config, session.tokenizer, info.arch, session.config.name)


def _base_precision(reader: Any) -> str:
    file_type = (
        int(reader.fields["general.file_type"].contents()) if "general.file_type" in reader.fields else 1
    )
    return "f16" if file_type in (0, 1) else "q8_0"


def _gguf_adapter(session: ExportSession, folder: Path) -> dict[str, Any]:
    import gguf

    info, reader = _arch_and_base(session)
    factors = gguf_tensors.lora_factors(info, session.adapter_state(), session.alpha)
    details: dict[str, Any] = {"lora_alpha": session.alpha, "targets": len(factors)}
    if reader is not None:
        base_path, precision = session.base_gguf, _base_precision(reader)
        details["base_gguf"] = str(base_path)
    else:
        base_path, precision = folder / "base-f16.gguf", "f16"
        write_gguf(
            base_path, info.arch, _metadata(session, info, None), _base_tensors(session, info, None), "f16"
        )
        details["base_gguf"] = base_path.name
    adapter_kv = [
        gguf_metadata.KV("general.type", "adapter", gguf.GGUFValueType.STRING),
        gguf_metadata.KV("adapter.type", "lora", gguf.GGUFValueType.STRING),
        gguf_metadata.KV("adapter.lora.alpha", session.alpha, gguf.GGUFValueType.FLOAT32),
        gguf_metadata.KV("general.name", f"{session.config.name}-lora", gguf.GGUFValueType.STRING),
    ]
    tensors = [(f"{f.target}.lora_a", f.a) for f in factors] + [(f"{f.target}.lora_b", f.b) for f in factors]
    adapter_path = write_gguf(folder / "adapter.gguf", info.arch, adapter_kv, tensors, "f32")
    agreement = measure_agreement(
        base_path, adapter_path, session.tokenizer, session.prompt_ids, session.reference, precision
    )
    details["check"] = agreement.to_json()
    return details


def _gguf_merged(session: ExportSession, folder: Path, precisions: tuple[Precision, ...]) -> dict[str, Any]:
    info, reader = _arch_and_base(session)
    factors = gguf_tensors.lora_factors(info, session.adapter_state(), session.alpha)
    metadata = _metadata(session, info, reader)
    checks = {}
    for precision in precisions:
        path = folder / f"model-{precision}.gguf"
        tensors = gguf_tensors.merged_tensors(_base_tensors(session, info, reader), factors)
        write_gguf(path, info.arch, metadata, tensors, precision)
        agreement = measure_agreement(
            path, None, session.tokenizer, session.prompt_ids, session.reference, precision
        )
        checks[path.name] = agreement.to_json()
    chosen = f"model-{'q8_0' if 'q8_0' in precisions else precisions[0]}.gguf"
    template = next((e.value for e in metadata if e.key == "tokenizer.chat_template"), None)
    (folder / "Modelfile").write_text(
        render_modelfile(chosen, template, session.tokenizer.eos_token), encoding="utf-8"
    )
    return {"checks": checks, "modelfile_uses": chosen}
