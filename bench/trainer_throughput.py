"""Throughput of the OpenLoRA trainer against transformers ``Trainer`` and TRL ``SFTTrainer`` + peft.

All three train the same base model, with the same LoRA config, on the same tokenized examples (the
same chat template and loss mask), with the same batch size, lr schedule, seed and step count, one
after the other in one run. The only differences are the ones under test: OpenLoRA packs examples
first-fit-decreasing into sequences, applies the LM head at labelled positions only and runs its own
loop; the plain Trainer pads each batch with ``DataCollatorForSeq2Seq``; TRL, the strongest peer,
packs best-fit-decreasing (``packing=True, packing_strategy="bfd"``, which implies padding-free: each
batch is flattened into one row with position ids restarting per example), takes the loss on the
completion only, and scores it with its chunked fused LM head (``loss_type="nll"``, the default;
``"chunked_nll"`` is a deprecated alias of it in TRL 1.16). TRL is given conversational
prompt/completion rows and applies the chat template itself; its tokens and loss mask are checked
against OpenLoRA's, and if they differ it is handed OpenLoRA's examples pre-tokenized (input_ids +
completion_mask). Only training steps are timed: data preparation happens before, and the first
``--warmup`` steps are left out.

Printed per trainer: real (non-padding) tokens per second over the timed steps, real tokens per step,
padding, and two model FLOPs utilisations (MFU) against a matmul peak measured here (float32 on this
machine's torch threads; bf16 on the GPU with ``--device cuda``, where OpenLoRA trains in bf16
autocast and the HF trainers with ``bf16=True``), then OpenLoRA's tokens/s over each other trainer's.
- MFU (model): the same model FLOPs per real token for every trainer: forward 2N + input-gradient
  backward 2N (N: matmul parameters, LM head included, so logits at every position; no weight
  gradient for the frozen base) plus causal attention at the mean example length.
- MFU (hardware): the FLOPs each trainer really executed, from the tensor shapes of its steps: base
  linears (4·d_in·d_out) and LoRA (6·r·(d_in+d_out)) at every input position, padding included; the
  LM head (2·passes·hidden·vocab) only where the trainer computes it; attention (3 · 4·L²·width per
  row and layer, or half for a pure causal kernel) over the rows its kernel really attends.
Both are detailed in ``bench/trainer_flops.py``. OpenLoRA's shapes are replayed from its config (its
batches are a pure function of seed and index; the replayed real tokens are checked against the run's
step events); the other trainers' are recorded from their collators.
A leak check (``bench/packing_leaks.py``) compares the logits of each example inside a packed batch
with those of the example alone: TRL's padding-free batch, and OpenLoRA's packed batch as a control.

Usage: python bench/trainer_throughput.py [--model smollm2|tiny] [--steps 10] [--warmup 2]
       [--device cpu|cuda] [--trl-variants nll[,dft]]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ and tests/ import as packages

from bench.packing_leaks import openlora_packing_leaks, trl_packing_leaks
from bench.trainer_flops import (
    ModelDims,
    StepShape,
    batch_shape,
    hardware_flops,
    model_flops_per_token,
    openlora_order,
    openlora_shapes,
    per_example_attention,
    per_step,
)
from bench.workload import make_dataset, training_settings
from openlora.trainer.config import EMBEDDED_BASE, parse_config
from openlora.trainer.data import IGNORE_INDEX, Example, tokenize_file
from openlora.trainer.data_files import ColumnMap, read_records
from openlora.trainer.loss import LabelledTokenLoss
from openlora.trainer.models import apply_lora, load_base_model, load_tokenizer, resolve_source
from openlora.trainer.rundir import RunDir, read_events, write_json_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def matmul_peak_gflops(size: int = 1536, repeats: int = 8, device: str = "cpu") -> float:
    """Best observed GEMM throughput: float32 on this machine's torch threads, or bf16 on the GPU
    (8192-square at least there, so the GPU is busy enough to show its peak)."""
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    size = max(size, 8192) if device == "cuda" else size
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    for _ in range(2):
        a @ b
    best = math.inf
    for _ in range(repeats):
        _synchronize(device)
        began = time.perf_counter()
        a @ b
        _synchronize(device)
        best = min(best, time.perf_counter() - began)
    return 2 * size**3 / best / 1e9


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def on_device(settings: dict[str, Any], device: str) -> dict[str, Any]:
    """The settings to train on ``device``: bf16 autocast on CUDA, fp32 on the CPU."""
    return {**settings, "device": device, **({"precision": "bf16"} if device == "cuda" else {})}


def run_openlora(settings: dict[str, Any], workdir: Path, warmup: int, device: str = "cpu") -> dict[str, Any]:
    run = workdir / "openlora-run"
    run.mkdir()
    config = parse_config(on_device(settings, device), "bench")
    write_json_atomic(RunDir(run).spec, config.model_dump())
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "openlora.trainer", str(run)], capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"openlora trainer failed:\n{proc.stderr[-3000:]}")
    all_steps = [e for e in read_events(RunDir(run).metrics) if e["event"] == "step"]
    steps = all_steps[warmup:]
    tokens = sum(e["tokens"] for e in steps)
    seconds = sum(e["step_time_s"] for e in steps)
    start = next(e for e in read_events(RunDir(run).metrics) if e["event"] == "run_start")
    return {
        "tokens_per_s": tokens / seconds,
        "timed_steps": len(steps),
        "timed_s": seconds,
        "tokens_per_step": tokens / len(steps),
        "wall_s": wall,
        "sequences": start["dataset"]["train_sequences"],
        "mean_context": start["dataset"]["mean_example_tokens"],
        "step_tokens": [e["tokens"] for e in all_steps],
    }


def _lora_model(config: Any, source: Any) -> Any:
    """The base model on the CPU in float32 with the run's LoRA adapters, as Trainer can train it."""
    torch.manual_seed(config.seed)
    base_model = load_base_model(source, config, use_cuda=False, compute_dtype=torch.float32)
    if source.gguf_file:
        # transformers dequantizes GGUF weights to float32 but keeps a GGUF quantizer tag, which
        # makes Trainer refuse to train; the weights are ordinary tensors, so drop the tag.
        base_model.hf_quantizer = None
        base_model.is_quantized = False
    return apply_lora(base_model, config)


def _training_kwargs(config: Any, output_dir: Path, device: str = "cpu") -> dict[str, Any]:
    """TrainingArguments fields for the same schedule, batch and clipping as the OpenLoRA run."""
    return {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum,
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": config.warmup_steps,
        "max_grad_norm": config.max_grad_norm,
        "weight_decay": config.weight_decay,
        "logging_steps": 1,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": [],
        "use_cpu": device == "cpu",
        "bf16": device == "cuda",  # autocast, as OpenLoRA's bf16 on CUDA
        "seed": config.seed,
        "dataloader_num_workers": 0,
        "remove_unused_columns": False,
        "disable_tqdm": True,
    }


def _training_arguments(config: Any, workdir: Path, device: str = "cpu") -> Any:
    """Trainer's settings for the same schedule, batch and clipping as the OpenLoRA run."""
    from transformers import TrainingArguments

    return TrainingArguments(**_training_kwargs(config, workdir / "baseline", device))


def _step_timer(times: list[float]) -> Any:
    """A callback appending each optimizer step's wall time (its batch fetch included) to ``times``."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - self.began)

    return StepTimer()


def _timed(times: list[float], micro: list[StepShape], grad_accum: int, warmup: int) -> dict[str, Any]:
    """Tokens/s and tokens/step of the steps after the warm-up, with their shapes."""
    steps = per_step(micro, grad_accum)[: len(times)][warmup:]
    timed = times[warmup:]
    real = sum(s.real_tokens for s in steps)
    return {
        "tokens_per_s": real / sum(timed),
        "timed_steps": len(timed),
        "timed_s": sum(timed),
        "tokens_per_step": real / len(timed),
        "shapes": steps,
    }


def run_baseline(settings: dict[str, Any], workdir: Path, warmup: int, device: str = "cpu") -> dict[str, Any]:
    import datasets
    from transformers import DataCollatorForSeq2Seq, Trainer

    config = parse_config(on_device(settings, device), "bench")
    source = resolve_source(config)
    tokenizer = load_tokenizer(source)
    # The very examples OpenLoRA trains on: same template, same loss mask, same too-long filter.
    examples, _ = tokenize_file(Path(config.dataset), tokenizer, config.max_seq_len, ColumnMap())
    train = datasets.Dataset.from_list(
        [
            {"input_ids": e.input_ids, "labels": e.labels, "attention_mask": [1] * len(e.input_ids)}
            for e in examples
        ]
    )
    model = _lora_model(config, source)
    padder = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX)
    shapes: list[StepShape] = []

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = padder(features)
        # The model computes logits at every position, padding included.
        shapes.append(batch_shape(batch, int(batch["input_ids"].numel())))
        return batch

    times: list[float] = []
    args = _training_arguments(config, workdir, device)  # Trainer moves the model to CUDA itself
    trainer = Trainer(
        model=model, args=args, train_dataset=train, data_collator=collate, callbacks=[_step_timer(times)]
    )
    began = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - began
    # The step timer includes the dataloader fetch of the step's batch, as OpenLoRA's step time does.
    return {**_timed(times, shapes, config.grad_accum, warmup), "wall_s": wall, "model": model}


def _conversational_rows(config: Any, examples: list[Example]) -> list[dict[str, Any]]:
    """The records OpenLoRA kept, as TRL's conversational prompt/completion rows."""
    kept = {e.line for e in examples}
    records = read_records(Path(config.dataset), ColumnMap())
    return [
        {
            "prompt": [{"role": "user", "content": r.prompt}],
            "completion": [{"role": "assistant", "content": r.response}],
        }
        for r in records
        if r.line in kept
    ]


def _pretokenized_rows(examples: list[Example]) -> list[dict[str, Any]]:
    """OpenLoRA's examples as TRL's pre-tokenized rows: input_ids + completion_mask (1 = loss)."""
    return [
        {"input_ids": e.input_ids, "completion_mask": [int(x != IGNORE_INDEX) for x in e.labels]}
        for e in examples
    ]


def _example_tokens(examples: list[Example]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(input ids, labels after the first) of every example, sorted: what both trainers train on."""
    return sorted((tuple(e.input_ids), tuple(e.labels[1:])) for e in examples)


def _trl_examples(packed: Any) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """TRL's packed rows cut back into examples (``seq_lengths``), as :func:`_example_tokens` lists them."""
    out = []
    for row in packed:
        start = 0
        for length in row["seq_lengths"]:
            ids, labels = row["input_ids"][start : start + length], row["labels"][start : start + length]
            out.append((tuple(ids), tuple(labels[1:])))
            start += length
    return sorted(out)


def _record_trl_batches(trainer: Any, shapes: list[StepShape], device: str) -> None:
    """Wrap TRL's collator to record each batch's shape; where its fused LM head projects: every
    shifted position on the CPU, the labelled ones only where it runs its Triton kernel (CUDA)."""
    from trl.kernels.chunked_logprob import _use_triton

    compact = _use_triton(torch.device(device))
    collator = trainer.data_collator

    def record(features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = collator(features)
        rows, length = batch["input_ids"].shape
        labelled = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        shapes.append(batch_shape(batch, labelled if compact else rows * (length - 1)))
        return batch

    trainer.data_collator = record


TRL_SETTINGS = {
    "packing": True,
    "packing_strategy": "bfd",
    "padding_free": True,
    "completion_only_loss": True,
    "gradient_checkpointing": False,  # TRL's default is True; OpenLoRA's run has it off
}


def _trl_trainer(config: Any, rows: list[dict[str, Any]], workdir: Path, device: str, loss_type: str) -> Any:
    """An SFTTrainer over ``rows`` (its data preparation runs here, before any timing)."""
    import datasets
    from trl import SFTConfig, SFTTrainer

    source = resolve_source(config)
    args = SFTConfig(
        **_training_kwargs(config, workdir / f"trl-{loss_type}", device),
        **TRL_SETTINGS,
        max_length=config.max_seq_len,
        loss_type=loss_type,
    )
    return SFTTrainer(
        model=_lora_model(config, source),
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=load_tokenizer(source),
    )


def run_trl(
    settings: dict[str, Any], workdir: Path, warmup: int, device: str = "cpu", loss_type: str = "nll"
) -> dict[str, Any]:
    """TRL SFTTrainer with BFD packing (padding-free), completion-only loss, same LoRA and schedule."""
    import trl

    config = parse_config(on_device(settings, device), "bench")
    tokenizer = load_tokenizer(resolve_source(config))
    examples, _ = tokenize_file(Path(config.dataset), tokenizer, config.max_seq_len, ColumnMap())
    expected = _example_tokens(examples)
    fed = "conversational prompt/completion, TRL applies the chat template"
    trainer = _trl_trainer(config, _conversational_rows(config, examples), workdir, device, loss_type)
    same = _trl_examples(trainer.train_dataset) == expected
    if not same:
        fed = "pre-tokenized input_ids + completion_mask (OpenLoRA's tokens)"
        trainer = _trl_trainer(config, _pretokenized_rows(examples), workdir / "pre", device, loss_type)
        same = _trl_examples(trainer.train_dataset) == expected
    times: list[float] = []
    shapes: list[StepShape] = []
    trainer.add_callback(_step_timer(times))
    _record_trl_batches(trainer, shapes, device)
    began = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - began
    return {
        **_timed(times, shapes, config.grad_accum, warmup),
        "wall_s": wall,
        "trl_version": trl.__version__,
        "settings": {**TRL_SETTINGS, "max_length": config.max_seq_len, "loss_type": trainer.args.loss_type},
        "input": fed,
        "same_tokens_as_openlora": same,
        "packed_rows": len(trainer.train_dataset),
        "trainer": trainer,
    }


def _settings(args: argparse.Namespace, base: str, data: Path) -> dict[str, Any]:
    """The training config every trainer runs (bench/workload.py's, at the command line's sizes)."""
    return training_settings("bench", base, data, args.steps, args.max_seq_len, args.batch_size)


def _replay_openlora(
    ours: dict[str, Any], settings: dict[str, Any], model: Any, args: argparse.Namespace
) -> tuple[Any, bool]:
    """OpenLoRA's step shapes from its replayed batches; returns the batch order and whether it
    attends per example (both for the leak check)."""
    config = parse_config(on_device(settings, args.device), "bench")
    tokenizer = load_tokenizer(resolve_source(config))
    order = openlora_order(config, tokenizer)
    per_example = per_example_attention(config, model)
    split = LabelledTokenLoss(model).split
    shapes = openlora_shapes(order, config, tokenizer.pad_token_id, split, per_example)
    ours["replay_matches_run"] = [s.real_tokens for s in shapes] == ours.pop("step_tokens")
    ours["attention"] = "per example" if per_example else "masked"
    ours["shapes"] = shapes[args.warmup :]
    return order, per_example


def _add_mfu(result: dict[str, Any], dims: ModelDims, fpt: float, peak: float, head_passes: int) -> None:
    """MFU on both bases, hardware FLOPs per step and padding, from the timed steps' shapes."""
    shapes = result.pop("shapes")
    executed = sum(hardware_flops(dims, s, head_passes) for s in shapes)
    positions = sum(s.positions for s in shapes)
    real = sum(s.real_tokens for s in shapes)
    result["padding_fraction"] = 1 - real / positions
    result["head_positions_per_step"] = sum(s.head_positions for s in shapes) / len(shapes)
    result["hardware_flops_per_step"] = executed / len(shapes)
    result["hardware_flops_per_token"] = executed / real
    result["mfu_model"] = result["tokens_per_s"] * fpt / (peak * 1e9)
    result["mfu_hardware"] = executed / result["timed_s"] / (peak * 1e9)


def _measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run every trainer and the leak check; the summary written as JSON."""
    if args.model == "tiny":
        from tests.fixtures.tiny_models import build_tiny_model

        base = str(build_tiny_model(workdir / "tiny", "llama"))
    else:
        base = EMBEDDED_BASE
    settings = _settings(args, base, make_dataset(workdir / "data.jsonl", rows=160, seed=0))
    peak = matmul_peak_gflops(device=args.device)
    ours = run_openlora(settings, workdir, args.warmup, args.device)
    base_result = run_baseline(settings, workdir, args.warmup, args.device)
    model = base_result.pop("model")
    order, per_example = _replay_openlora(ours, settings, model, args)
    trls = {
        _trl_key(loss): run_trl(settings, workdir, args.warmup, args.device, loss)
        for loss in args.trl_variants
    }
    leaks = _leak_check(trls[_trl_key(args.trl_variants[0])], order(0), per_example)
    for result in trls.values():
        result.pop("trainer", None)
    dims = ModelDims.of(model)
    fpt = model_flops_per_token(dims, ours["mean_context"])
    _add_mfu(ours, dims, fpt, peak, head_passes=2)
    _add_mfu(base_result, dims, fpt, peak, head_passes=2)
    for result in trls.values():
        _add_mfu(result, dims, fpt, peak, head_passes=3)  # TRL's backward recomputes each logits tile
    others = {"transformers_trainer": base_result, **trls}
    return {
        "model": args.model,
        "device": args.device,
        "steps": args.steps,
        "timed_steps": ours["timed_steps"],
        "batch_size": args.batch_size,
        "max_seq_len": args.max_seq_len,
        "torch_threads": torch.get_num_threads(),
        "matmul_peak_gflops": round(peak, 2),
        "flops_per_token": fpt,
        "model_dims": dims.__dict__,
        "openlora": ours,
        **others,
        "ratio": ours["tokens_per_s"] / base_result["tokens_per_s"],
        "ratios": {name: ours["tokens_per_s"] / r["tokens_per_s"] for name, r in others.items()},
        "leak_check": leaks,
    }


def _leak_check(trl_result: dict[str, Any], sequences: list[Any], per_example: bool) -> dict[str, Any]:
    """TRL's first padding-free batch and, as a control, OpenLoRA's first packed batch, each against
    its examples run alone, on the same model: the one TRL just trained (its LoRA weights non-zero)."""
    trainer = trl_result["trainer"]
    pad_id = trainer.processing_class.pad_token_id
    return {
        "trl_sft_packing": trl_packing_leaks(trainer, trainer.model),
        "openlora": openlora_packing_leaks(trainer.model, sequences, pad_id, per_example),
        "model": f"the TRL-trained ({trl_result['settings']['loss_type']}) LoRA model, eval mode",
    }


def _trl_key(loss_type: str) -> str:
    return "trl_sft_packing" if loss_type == "nll" else f"trl_sft_packing_{loss_type}"


LABELS = {
    "openlora": "openlora (packed)",
    "transformers_trainer": "transformers Trainer",
    "trl_sft_packing": "TRL SFT (bfd packing)",
    "trl_sft_packing_dft": "TRL SFT (bfd, dft loss)",
}


def _print(summary: dict[str, Any]) -> None:
    names = ["openlora", *summary["ratios"]]
    print(
        f"model={summary['model']} device={summary['device']} threads={summary['torch_threads']} "
        f"matmul peak={summary['matmul_peak_gflops']:.1f} GFLOP/s  "
        f"model flops/token={summary['flops_per_token'] / 1e6:.1f} M"
    )
    print(
        f"{'trainer':<26}{'tokens/s':>10}{'tokens/step':>13}{'padding':>9}{'MFU model':>11}"
        f"{'MFU hw':>9}{'hw GFLOP/step':>15}"
    )
    for name in names:
        r = summary[name]
        print(
            f"{LABELS.get(name, name):<26}{r['tokens_per_s']:>10.1f}{r['tokens_per_step']:>13.0f}"
            f"{r['padding_fraction']:>9.1%}{r['mfu_model']:>11.1%}{r['mfu_hardware']:>9.1%}"
            f"{r['hardware_flops_per_step'] / 1e9:>15.1f}"
        )
    for name, ratio in summary["ratios"].items():
        print(f"ratio openlora / {LABELS.get(name, name)}: {ratio:.2f}x")
    for name in ("trl_sft_packing", "openlora"):
        leak = summary["leak_check"][name]
        print(
            f"leak check {LABELS[name]}: max |Δlogit| {leak['max_abs_logit_diff']:.2e} over "
            f"{leak['examples_compared']} packed examples, batch {leak['batch_shape']}: "
            f"{'LEAKS' if leak['leaks'] else 'no leak'} (tolerance {leak['tolerance']:g}; "
            f"{leak['attention']} attention)"
        )
    trl = summary.get("trl_sft_packing")
    if trl:
        print(
            f"TRL {trl['trl_version']}: {trl['settings']}; input: {trl['input']}; "
            f"same tokens and loss mask as OpenLoRA: {trl['same_tokens_as_openlora']}"
        )
    ours = summary["openlora"]
    print(
        f"OpenLoRA replay matches its run's step tokens: {ours['replay_matches_run']}; "
        f"attention counted as {ours['attention']}"
    )


def _variants(text: str) -> list[str]:
    variants = [v.strip() for v in text.split(",") if v.strip()]
    if not variants or any(v not in ("nll", "dft") for v in variants):
        raise argparse.ArgumentTypeError(f"--trl-variants: a comma list of nll, dft; got {text!r}")
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="first steps left out of the timing")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-seq-len", type=int, default=512)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where every trainer runs")
    parser.add_argument(
        "--trl-variants",
        type=_variants,
        default=["nll"],
        help="TRL loss types to run, comma-separated: nll (default; chunked_nll is its alias), dft",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach the hub
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        summary = _measure(args, Path(tmp))
    _print(summary)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"trainer_throughput_{args.model}{'_cuda' if args.device == 'cuda' else ''}.json"
    out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
