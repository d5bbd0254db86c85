"""The evaluation engine: generate on a held-out set with the adapter and with the base, and score both.

Scores per sample and in aggregate: fluency (perplexity of the output under the base model),
accuracy (exact match, token F1, ROUGE-L against the reference), prompt alignment (MiniLM cosine
similarity of the output to the prompt and to the reference, plus declared format checks: valid
JSON, one of the allowed labels) and hallucination (facts supported by neither prompt nor
reference, see ``hallucination``). Generation is greedy and batched, with the chat template the
model was trained with.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from openlora.evaluation.hallucination import unsupported_facts
from openlora.evaluation.text_metrics import exact_match, rouge_l, token_f1
from openlora.trainer.data import ExampleTokenizer, split_validation
from openlora.trainer.data_files import ColumnMap, Record, read_records

if TYPE_CHECKING:
    from openlora.trainer.config import TrainConfig
    from openlora.trainer.rundir import RunDir


@dataclass
class FormatChecks:
    """Format rules a goal may declare for outputs; ``extra``: pack checks, ``(prompt, output) -> bool``."""

    json: bool = False
    labels: list[str] = field(default_factory=list)
    extra: list[Callable[[str, str], bool]] = field(default_factory=list)

    def declared(self) -> bool:
        return self.json or bool(self.labels) or bool(self.extra)

    def _extra_pass(self, prompt: str, output: str) -> bool:
        for check in self.extra:
            try:
                if not check(prompt, output):
                    return False
            except Exception:  # a pack's check that raises fails the output, never the evaluation
                return False
        return True

    def passes(self, output: str, prompt: str = "") -> bool:
        if not self._extra_pass(prompt, output):
            return False
        text = output.strip()
        if self.json:
            try:
                json.loads(text)
            except ValueError:
                return False
        return not self.labels or text.lower().rstrip(".") in {label.lower() for label in self.labels}


@dataclass
class SampleScore:
    prompt: str
    reference: str
    output: str
    exact_match: float
    token_f1: float
    rouge_l: float
    similarity_to_prompt: float
    similarity_to_reference: float
    perplexity: float
    format_ok: bool
    unsupported: list[str]


@dataclass
class Scores:
    """Aggregates over the held-out samples (means; hallucination_rate = share of flagged samples)."""

    samples: int
    exact_match: float
    token_f1: float
    rouge_l: float
    similarity_to_prompt: float
    similarity_to_reference: float
    perplexity: float
    format_pass_rate: float
    hallucination_rate: float
    per_sample: list[SampleScore]

    def summary(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if k != "per_sample"}


def held_out_pairs(spec: dict[str, Any], limit: int) -> list[Record]:
    """The validation records of a run: val_dataset, or the same seeded split the trainer held out."""
    columns = ColumnMap.of(spec)
    if spec.get("val_dataset"):
        records = read_records(Path(spec["val_dataset"]), columns)
    else:
        _, records = split_validation(
            read_records(Path(spec["dataset"]), columns), spec["val_fraction"], spec["seed"]
        )
    return [r for r in records if r.kind == "pair"][:limit]


def _prompt_text(encoder: ExampleTokenizer, prompt: str) -> str:
    return encoder._render([{"role": "user", "content": prompt}], generation_prompt=True)


@torch.no_grad()
def generate(
    model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int, batch_size: int = 16
) -> list[str]:
    encoder = ExampleTokenizer(tokenizer)
    tokenizer.padding_side = "left"
    outputs: list[str] = []
    for start in range(0, len(prompts), batch_size):
        texts = [_prompt_text(encoder, p) for p in prompts[start : start + batch_size]]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        generated = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        for row in generated[:, batch["input_ids"].shape[1] :]:
            outputs.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return outputs


def stream_generate(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int) -> Iterator[str]:
    """One greedy answer to ``prompt`` as it grows (the text so far, after each new piece), as
    :func:`generate` makes it; generation runs in a thread that feeds a transformers streamer."""
    from transformers import TextIteratorStreamer

    encoder = ExampleTokenizer(tokenizer)
    batch = tokenizer([_prompt_text(encoder, prompt)], return_tensors="pt", add_special_tokens=False)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                streamer=streamer,
            )
        except BaseException as exc:  # re-raised in the caller's thread below
            failure.append(exc)
            streamer.end()

    thread = threading.Thread(target=work, name="playground-generate", daemon=True)
    thread.start()
    text = ""
    for piece in streamer:
        text += piece
        yield text.strip()
    thread.join()
    if failure:
        raise failure[0]


@torch.no_grad()
def perplexities(model: Any, tokenizer: Any, prompts: list[str], outputs: list[str]) -> list[float]:
    """Perplexity of each output given its prompt, under ``model``."""
    encoder = ExampleTokenizer(tokenizer)
    values = []
    for prompt, output in zip(prompts, outputs, strict=True):
        context = tokenizer(_prompt_text(encoder, prompt), add_special_tokens=False)["input_ids"]
        answer = tokenizer(output, add_special_tokens=False)["input_ids"] or [encoder.eos]
        ids = torch.tensor([context + answer])
        logits = model(input_ids=ids).logits[0, len(context) - 1 : -1]
        nll = torch.nn.functional.cross_entropy(logits.float(), torch.tensor(answer), reduction="mean")
        values.append(float(math.exp(min(20.0, float(nll)))))
    return values


def score(records: list[Record], outputs: list[str], fluency: list[float], checks: FormatChecks) -> Scores:
    from openlora.memory import embedder

    prompts = [r.prompt for r in records]
    references = [r.response for r in records]
    vectors = embedder.embed(outputs + prompts + references)
    n = len(outputs)
    out_v, prompt_v, ref_v = vectors[:n], vectors[n : 2 * n], vectors[2 * n :]
    per_sample = []
    for i, record in enumerate(records):
        flagged = unsupported_facts(outputs[i], record.prompt, record.response)
        per_sample.append(
            SampleScore(
                prompt=record.prompt,
                reference=record.response,
                output=outputs[i],
                exact_match=exact_match(outputs[i], record.response),
                token_f1=token_f1(outputs[i], record.response),
                rouge_l=rouge_l(outputs[i], record.response),
                similarity_to_prompt=float(np.dot(out_v[i], prompt_v[i])),
                similarity_to_reference=float(np.dot(out_v[i], ref_v[i])),
                perplexity=fluency[i],
                format_ok=checks.passes(outputs[i], record.prompt),
                unsupported=[f"{f.kind}:{f.value}" for f in flagged],
            )
        )

    def mean(key: str) -> float:
        return float(np.mean([getattr(s, key) for s in per_sample])) if per_sample else 0.0

    return Scores(
        samples=n,
        exact_match=mean("exact_match"),
        token_f1=mean("token_f1"),
        rouge_l=mean("rouge_l"),
        similarity_to_prompt=mean("similarity_to_prompt"),
        similarity_to_reference=mean("similarity_to_reference"),
        perplexity=float(np.exp(np.mean(np.log([s.perplexity for s in per_sample])))) if per_sample else 0.0,
        format_pass_rate=mean("format_ok"),
        hallucination_rate=float(np.mean([bool(s.unsupported) for s in per_sample])) if per_sample else 0.0,
        per_sample=per_sample,
    )


def evaluate_run(
    root: Path,
    against_base: bool = True,
    limit: int = 100,
    max_new_tokens: int = 48,
    checks: FormatChecks | None = None,
) -> dict[str, Any]:
    """Score the run's adapter (and the base) on its held-out pairs; writes eval/report.{json,md}.

    Library output of the model work (progress bars, warnings) goes to the run's ``trainer.log``.
    """
    from openlora.trainer.main import load_spec
    from openlora.trainer.quiet import quiet_libraries
    from openlora.trainer.rundir import RunDir, read_json, write_json_atomic, write_text_atomic

    began = time.perf_counter()
    run_dir = RunDir(root)
    config = load_spec(run_dir)
    records = held_out_pairs(read_json(run_dir.spec), limit)
    if not records:
        raise ValueError(f"{root}: the held-out set has no prompt/response pairs to evaluate")
    with quiet_libraries(run_dir.trainer_log, "evaluate"):
        results = _score_models(
            run_dir, config, records, against_base, max_new_tokens, checks or FormatChecks()
        )
    report = {
        "run": str(root),
        "samples": len(records),
        "seconds": round(time.perf_counter() - began, 1),
        "summary": {name: s.summary() for name, s in results.items()},
        "per_sample": [
            {
                "prompt": r.prompt,
                "reference": r.response,
                **{
                    name: asdict(results[name].per_sample[i]) | {"prompt": None, "reference": None}
                    for name in results
                },
            }
            for i, r in enumerate(records)
        ],
    }
    write_json_atomic(run_dir.evaluation_json, report)
    write_text_atomic(run_dir.evaluation_md, render_markdown(report))
    return report


def _score_models(
    run_dir: RunDir,
    config: TrainConfig,
    records: list[Record],
    against_base: bool,
    max_new_tokens: int,
    checks: FormatChecks,
) -> dict[str, Scores]:
    """Load base + adapter, generate with and without the adapter, and score both columns."""
    from peft import PeftModel

    from openlora.trainer.export.exporter import trained_adapter
    from openlora.trainer.models import load_base_model, load_tokenizer, resolve_source

    source = resolve_source(config)
    tokenizer = load_tokenizer(source)
    base = load_base_model(source, config, use_cuda=False, compute_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(trained_adapter(run_dir))).eval()
    prompts = [r.prompt for r in records]
    results: dict[str, Scores] = {}
    adapter_out = generate(model, tokenizer, prompts, max_new_tokens)
    with model.disable_adapter():
        base_out = generate(model, tokenizer, prompts, max_new_tokens) if against_base else []
        fluency_adapter = perplexities(model, tokenizer, prompts, adapter_out)
        fluency_base = perplexities(model, tokenizer, prompts, base_out) if against_base else []
    results["adapter"] = score(records, adapter_out, fluency_adapter, checks)
    if against_base:
        results["base"] = score(records, base_out, fluency_base, checks)
    return results


# How a metric's row reads where its key alone would mislead: ``perplexity`` is the *base* model's
# perplexity of each model's output (fluency), not the usual perplexity of the model on the references;
# an adapter that answers exactly in a terse format scores far above a base that rambles fluently.
METRIC_LABELS = {"perplexity": "fluency: base model's perplexity of the output (lower: reads like the base)"}


def summary_table(summary: dict[str, dict[str, float]]) -> list[str]:
    """Markdown table lines: one row per metric, one column per model (adapter, base)."""
    names = list(summary)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for metric in summary[names[0]]:
        label = METRIC_LABELS.get(metric, metric)
        lines.append(f"| {label} | " + " | ".join(f"{summary[n][metric]:.4g}" for n in names) + " |")
    return lines


def render_markdown(report: dict[str, Any], examples: int = 5) -> str:
    names = list(report["summary"])
    lines = [
        f"# Evaluation of {report['run']}",
        "",
        f"{report['samples']} held-out samples, {report['seconds']} s",
        "",
        *summary_table(report["summary"]),
    ]
    lines += ["", "## Examples", ""]
    for sample in report["per_sample"][:examples]:
        lines += [f"- prompt: `{sample['prompt'][:200]}`", f"  - reference: {sample['reference'][:200]}"]
        for name in names:
            flags = sample[name]["unsupported"]
            lines.append(
                f"  - {name}: {sample[name]['output'][:200]}" + (f" — unsupported: {flags}" if flags else "")
            )
    return "\n".join(lines) + "\n"
