"""goal.yaml: what the supervisor is asked to achieve, validated strictly before anything runs.

A goal names the task in words, the base model, the data, what success means, the budget, the
outputs (and where to publish them on the Hub), the advisor model and the approval policy;
``training`` may pin any training setting (validated against the trainer's own config). Unknown and
duplicate keys, NaN, out-of-range numbers, missing files and unknown output formats are errors naming
the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from openlora.trainer.config import (
    EMBEDDED_BASE,
    ConfigError,
    ExportFormat,
    TrainConfig,
    format_validation_error,
    is_hub_id,
    resolve_dataset,
)
from openlora.trainer.yaml_strict import ConfigFileError, load_yaml_mapping

PLANNED_BY_AGENT = {"name", "base_model", "dataset", "val_dataset", "outputs"}


class GoalError(ValueError):
    """The goal file is invalid; the message names the file, the field and the bad value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Success(_Strict):
    """When the goal is met (every given threshold must hold)."""

    val_loss_below: float | None = Field(
        None, gt=0, le=100, description="Final validation loss must be below this."
    )
    train_loss_below: float | None = Field(
        None, gt=0, le=100, description="Final training loss must be below this."
    )

    @model_validator(mode="after")
    def _some_target(self) -> Success:
        if self.val_loss_below is None and self.train_loss_below is None:
            raise ValueError("give at least one target: val_loss_below or train_loss_below")
        return self


class Budget(_Strict):
    """Limits on the whole supervised run."""

    max_attempts: int = Field(4, ge=1, le=20, description="Training attempts, the first included.")
    max_wall_minutes: float = Field(
        60.0, gt=0, le=7 * 24 * 60, description="Wall-clock limit for the whole goal."
    )
    max_live_patches: int = Field(2, ge=0, le=20, description="Live patches per attempt.")


class EvaluationSettings(_Strict):
    """Scoring the adapter against its base after training, and what counts as a data problem."""

    # goal.yaml says `json:`; the field has another name so it does not shadow BaseModel.json.
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, validate_by_name=True, validate_by_alias=True
    )

    samples: int = Field(20, ge=0, le=10_000, description="Held-out pairs to score; 0 skips evaluation.")
    json_output: bool = Field(False, alias="json", description="Outputs must be valid JSON.")
    labels: list[str] = Field(default_factory=list, description="Outputs must be one of these labels.")
    max_hallucination_increase: float = Field(
        0.1, ge=0.0, le=1.0, description="Largest allowed rise of the hallucination rate over the base."
    )
    max_hallucination_rate: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description=(
            "Largest allowed share of answers stating a fact neither the prompt nor the reference has, "
            "whatever the base does (a base that does not do the task invents in most answers)."
        ),
    )
    min_format_pass_rate: float = Field(0.9, ge=0.0, le=1.0, description="Smallest allowed format pass rate.")
    checks: list[str] = Field(
        default_factory=list,
        description=(
            "Pack checks every output must pass, 'pack.check' (see `openlora-agent packs list`); a goal "
            "that names a pack gets that pack's default checks when this is unset."
        ),
    )

    @field_validator("checks")
    @classmethod
    def _installed_checks(cls, value: list[str]) -> list[str]:
        from openlora.synthesis.packs.registry import PackError, installed

        for name in value:
            if "." not in name:
                raise ValueError(f"{name!r}: name a pack check as 'pack.check'")
            try:
                installed().check(name)
            except PackError as exc:
                raise ValueError(str(exc)) from None
        return value


class AdvisorSettings(_Strict):
    """The local model that chooses among candidate fixes."""

    model: str = Field(EMBEDDED_BASE, description="'embedded:smollm2' or a path to any instruct GGUF.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature of decisions.")
    max_tokens: int = Field(160, ge=32, le=2048, description="Most tokens per decision.")
    n_ctx: int = Field(2048, ge=512, le=131072, description="Context window of the advisor.")


class PublishSettings(_Strict):
    """Publishing the result to the Hugging Face Hub once the goal succeeded (token: HF_TOKEN)."""

    repo: str = Field(..., description="The Hub repo to create or update, owner/name.")
    private: bool = Field(
        False, description="Create the repo private (an existing repo keeps its visibility)."
    )
    formats: list[ExportFormat] | None = Field(
        None, description="Formats to upload, the first at the repo root; unset: every format in outputs."
    )

    @field_validator("repo")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        if "/" not in value or not is_hub_id(value):
            raise ValueError(
                "not a valid Hub repo id (owner/name: letters, digits, '-', '_', '.', no '--' or '..', "
                "at most 96 characters)"
            )
        return value


class Resources(_Strict):
    """What the goal's supervisor reserves as a Ray task (``run --ray``); unset: from its training."""

    num_cpus: float | None = Field(
        None,
        gt=0,
        le=1024,
        description="CPUs to reserve; unset: training.num_threads (1 when unset) per trainer process.",
    )
    num_gpus: float | None = Field(
        None,
        ge=0,
        le=64,
        description=(
            "GPUs to reserve, fractions allowed (0.25: four goals share a GPU); unset: one per trainer "
            "process when training.device is cuda (or auto on a cluster with GPUs), else none."
        ),
    )
    memory_gb: float | None = Field(
        None,
        gt=0,
        le=4096,
        description="Memory to reserve in GiB; unset: training.memory_limit_gb, else none.",
    )


def pack_defaults(data: Any) -> Any:
    """``data`` (a goal mapping) with its pack's goal defaults where the goal leaves a key unset.

    Fills ``task``, ``success`` and ``evaluation`` keys (the goal's own win) and ``evaluation.checks``
    with the pack's default checks; an unknown or broken pack is left for the ``pack`` field to refuse.
    """
    from openlora.synthesis.packs.registry import PackError, installed

    if not isinstance(data, dict) or not isinstance(data.get("pack"), str):
        return data
    try:
        pack = installed().get(data["pack"])
    except PackError:
        return data
    defaults = pack.goal_defaults
    if defaults is None:
        return data
    filled = dict(data)
    if defaults.task and "task" not in filled:
        filled["task"] = defaults.task
    if defaults.success and "success" not in filled:
        filled["success"] = dict(defaults.success)
    evaluation = filled.get("evaluation", {})
    if isinstance(evaluation, dict):
        merged = {**dict(defaults.evaluation), **evaluation}
        if defaults.checks and "checks" not in evaluation:
            merged["checks"] = [f"{pack.name}.{name}" for name in defaults.checks]
        filled["evaluation"] = merged
    return filled


class Goal(_Strict):
    """A supervised fine-tuning goal."""

    name: str = Field(
        ...,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Short name; run folders are named after it.",
    )
    pack: str | None = Field(
        None,
        description=(
            "A domain pack (`openlora-agent packs list`): its goal defaults fill the task, success and "
            "evaluation keys the goal leaves unset, and its checks join the evaluation."
        ),
    )
    task: str = Field(..., min_length=1, max_length=2000, description="The task in words.")
    base_model: str = Field(EMBEDDED_BASE, description="Base model, as in the training config.")
    dataset: str = Field(
        ...,
        description=(
            "Training data: a .txt, .jsonl, .json, .csv, .tsv or .parquet file, or a hub dataset id "
            "(owner/name; training.dataset_split, dataset_revision and dataset_max_rows choose the rows)."
        ),
    )
    eval_dataset: str | None = Field(
        None,
        description="Optional held-out data (a file or a hub dataset id, split training.val_dataset_split).",
    )
    success: Success = Field(..., description="What success means.")
    budget: Budget = Field(default_factory=Budget, description="Attempts and wall time.")
    training: dict[str, Any] = Field(
        default_factory=dict, description="Training settings to pin (trainer config keys)."
    )
    outputs: list[ExportFormat] = Field(default_factory=lambda: ["adapter"], description="Formats to export.")
    publish: PublishSettings | None = Field(
        None, description="Upload the exports with a model card to the Hub after success (unset: do not)."
    )
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings, description="Output scoring.")
    advisor: AdvisorSettings = Field(default_factory=AdvisorSettings, description="Advisor model settings.")
    approval: Literal["auto", "ask"] = Field(
        "auto", description="auto: apply decisions; ask: the TUI asks first."
    )
    memory: bool = Field(True, description="Consult and feed the incident memory.")
    lr_probe: Literal["auto", "off"] = Field(
        "auto",
        description=(
            "auto: when training.learning_rate is not pinned, a short learning-rate range test (at most "
            "10 % of the step budget) picks the first learning rate; off: the size prior."
        ),
    )
    memory_probe: Literal["auto", "off"] = Field(
        "auto",
        description=(
            "auto: when training.batch_size is not pinned, one step at half, the planned and twice the "
            "planned micro-batch (within 10 % of the step budget) checks the batch fits in memory; off: "
            "no check."
        ),
    )
    bad_data: Literal["stop", "warn"] = Field(
        "stop",
        description="stop: refuse data that does not parse or looks like noise; warn: train anyway.",
    )
    resources: Resources = Field(
        default_factory=Resources, description="What the supervisor reserves on a Ray cluster (run --ray)."
    )

    @model_validator(mode="before")
    @classmethod
    def _pack_defaults(cls, data: Any) -> Any:
        return pack_defaults(data)

    @field_validator("pack")
    @classmethod
    def _installed_pack(cls, value: str | None) -> str | None:
        from openlora.synthesis.packs.registry import PackError, installed

        if value is not None:
            try:
                installed().get(value)
            except PackError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _publish_exported(self) -> Goal:
        """publish.formats must be exported: listed in outputs (the adapter always is)."""
        missing = [f for f in self.publish_formats() if f != "adapter" and f not in self.outputs]
        if missing:
            raise ValueError(f"publish.formats {missing} are not in outputs {self.outputs}; add them there")
        return self

    def publish_formats(self) -> list[str]:
        """What ``publish`` uploads: its ``formats``, else the goal's outputs (none without ``publish``)."""
        if self.publish is None:
            return []
        return list(self.publish.formats or self.outputs)

    @field_validator("training")
    @classmethod
    def _training_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        owned = sorted(PLANNED_BY_AGENT & set(value))
        if owned:
            raise ValueError(f"{owned} are set at the top level of the goal, not under training")
        unknown = sorted(set(value) - set(TrainConfig.model_fields))
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}")
        return value

    def resolve(self, base_dir: Path) -> Goal:
        """Resolve and check paths relative to the goal file; validate the pinned training settings."""
        updates: dict[str, Any] = {}
        try:
            config = self.base_config()
            for field, config_field in (("dataset", "dataset"), ("eval_dataset", "val_dataset")):
                value = getattr(self, field)
                if value is not None:
                    request = config.hub_dataset_request(config_field, label=field)
                    updates[field] = resolve_dataset(value, base_dir, request)
        except ConfigError as exc:
            raise GoalError(str(exc)) from None
        if self.advisor.model != EMBEDDED_BASE:
            path = Path(self.advisor.model).expanduser()
            path = path if path.is_absolute() else base_dir / path
            if not path.is_file() or path.suffix != ".gguf":
                raise GoalError(f"advisor.model: not a GGUF file: {path}")
            updates["advisor"] = self.advisor.model_copy(update={"model": str(path.resolve())})
        resolved = self.model_copy(update=updates)
        try:
            resolved.base_config().resolve_paths(base_dir)
        except ConfigError as exc:
            raise GoalError(str(exc).replace("test:", "training:")) from None
        return resolved

    def base_config(self, **overrides: Any) -> TrainConfig:
        """A training config from the goal (and ``overrides``), validated by the trainer's model."""
        data = {
            "name": self.name,
            "base_model": self.base_model,
            "dataset": self.dataset,
            "val_dataset": self.eval_dataset,
            **self.training,
            **overrides,
        }
        try:
            return TrainConfig.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, "training")) from None


def load_goal(path: Path, offline: bool = False) -> Goal:
    """Read, validate and resolve a goal file; GoalError names the file and field.

    ``offline`` (the CLI's ``--offline``) pins ``training.offline`` before a hub dataset is resolved.
    """
    try:
        data = load_yaml_mapping(path)
    except ConfigFileError as exc:
        raise GoalError(str(exc)) from None
    if offline and isinstance(data.get("training", {}), dict):
        data["training"] = {**data.get("training", {}), "offline": True}
    try:
        goal = Goal.model_validate(data)
    except ValidationError as exc:
        raise GoalError(format_validation_error(exc, str(path))) from None
    try:
        return goal.resolve(path.parent)
    except GoalError as exc:
        raise GoalError(f"{path}: {exc}") from None
