"""Throughput of the OpenLoRA trainer against a plain transformers ``Trainer`` + peft baseline.

Both train the same base model, with the same LoRA config, on the same tokenized examples (the
same chat template and loss mask), with the same batch size, lr schedule and step count, one after
the other in one run. The only differences are the ones under test: OpenLoRA packs examples into
full sequences and runs its own loop; the baseline pads each batch with ``DataCollatorForSeq2Seq``.

Printed per trainer: real (non-padding) tokens per second over the timed steps, the ratio, and
model FLOPs utilisation (MFU) against a float32 matmul peak measured here, on the same threads.
MFU uses the same model FLOPs per token for both (logits at every position, as the baseline
computes them); OpenLoRA applies the LM head only where there is a label, so its figure counts
useful model work, not extra hardware work.
FLOPs per token for LoRA on a frozen base: forward 2N + input-gradient backward 2N (no weight
gradients for the frozen N) plus causal attention, with N the parameters used in matmuls.

Usage: python bench/trainer_throughput.py [--model smollm2|tiny] [--steps 10] [--warmup 2]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from openlora.trainer.config import EMBEDDED_BASE, parse_config
from openlora.trainer.data import IGNORE_INDEX, tokenize_file
from openlora.trainer.data_files import ColumnMap
from openlora.trainer.models import apply_lora, load_base_model, load_tokenizer, resolve_source
from openlora.trainer.rundir import RunDir, read_events, write_json_atomic

RESULTS = Path(__file__).resolve().parent / "results"

HOSTS = ["web-01", "db-02", "vpn-gw", "mail-03", "fw-edge"]
USERS = ["alice", "bob", "carol", "dave", "erin"]


def make_dataset(path: Path, rows: int, seed: int) -> Path:
    """Log-summary pairs whose prompts hold 1–9 log lines, so example lengths vary a lot."""
    rng = random.Random(seed)
    lines = []
    for _ in range(rows):
        events = [
            f"Nov 28 1{rng.randint(0, 9)}:{rng.randint(10, 59)}:{rng.randint(10, 59)} {rng.choice(HOSTS)} "
            f"sshd[{rng.randint(1000, 60000)}]: Failed password for {rng.choice(USERS)} from "
            f"203.0.113.{rng.randint(2, 250)} port {rng.randint(1024, 65000)} ssh2"
            for _ in range(rng.choice([1, 1, 2, 3, 5, 9]))
        ]
        prompt = "Summarise these log events and rate the severity.\n" + "\n".join(events)
        response = f"{len(events)} failed SSH logins. Severity: {'high' if len(events) > 2 else 'medium'}."
        lines.append(json.dumps({"prompt": prompt, "response": response}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def matmul_peak_gflops(size: int = 1536, repeats: int = 8) -> float:
    """Best observed float32 GEMM throughput on this machine's torch threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(2):
        a @ b
    best = math.inf
    for _ in range(repeats):
        began = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - began)
    return 2 * size**3 / best / 1e9


def matmul_params(model: Any) -> int:
    """Parameters used in matmuls: every nn.Linear / GPT-2 Conv1D weight, the LM head included."""
    from transformers.pytorch_utils import Conv1D

    return sum(m.weight.numel() for m in model.modules() if isinstance(m, (torch.nn.Linear, Conv1D)))


def flops_per_token(model: Any, mean_context: float) -> float:
    cfg = model.config
    layers = getattr(cfg, "num_hidden_layers", None) or cfg.n_layer
    hidden = getattr(cfg, "hidden_size", None) or cfg.n_embd
    n = matmul_params(model)
    attention = 2 * 2 * layers * hidden * mean_context / 2  # QK^T and AV, causal half
    return 2 * (2 * n + attention)  # forward + input-gradient backward


def run_openlora(settings: dict[str, Any], workdir: Path, warmup: int) -> dict[str, Any]:
    run = workdir / "openlora-run"
    run.mkdir()
    config = parse_config(settings, "bench")
    write_json_atomic(RunDir(run).spec, config.model_dump())
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "openlora.trainer", str(run)], capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"openlora trainer failed:\n{proc.stderr[-3000:]}")
    steps = [e for e in read_events(RunDir(run).metrics) if e["event"] == "step"][warmup:]
    tokens = sum(e["tokens"] for e in steps)
    seconds = sum(e["step_time_s"] for e in steps)
    start = next(e for e in read_events(RunDir(run).metrics) if e["event"] == "run_start")
    return {
        "tokens_per_s": tokens / seconds,
        "timed_steps": len(steps),
        "tokens_per_step": tokens / len(steps),
        "padding_fraction": 0.0,
        "wall_s": wall,
        "sequences": start["dataset"]["train_sequences"],
        "mean_context": start["dataset"]["mean_example_tokens"],
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


def _training_arguments(config: Any, workdir: Path) -> Any:
    """Trainer's settings for the same schedule, batch and clipping as the OpenLoRA run."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(workdir / "baseline"),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_steps,
        max_grad_norm=config.max_grad_norm,
        weight_decay=config.weight_decay,
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=config.seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=True,
    )


def run_baseline(settings: dict[str, Any], workdir: Path, warmup: int) -> dict[str, Any]:
    import datasets
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback

    config = parse_config(settings, "bench")
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
    counts: list[tuple[int, int]] = []

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = padder(features)
        counts.append((int(batch["attention_mask"].sum()), int(batch["attention_mask"].numel())))
        return batch

    times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - self.began)

    args = _training_arguments(config, workdir)
    trainer = Trainer(
        model=model, args=args, train_dataset=train, data_collator=collate, callbacks=[StepTimer()]
    )
    began = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - began
    # The step timer includes the dataloader fetch of the step's batch, as OpenLoRA's step time does.
    timed = times[warmup:]
    real = [c[0] for c in counts[: len(times)]][warmup:]
    padded = [c[1] for c in counts[: len(times)]][warmup:]
    return {
        "tokens_per_s": sum(real) / sum(timed),
        "timed_steps": len(timed),
        "tokens_per_step": sum(real) / len(timed),
        "padding_fraction": 1 - sum(real) / sum(padded),
        "wall_s": wall,
        "model": model,
    }


def _settings(args: argparse.Namespace, base: str, data: Path) -> dict[str, Any]:
    """The training config both trainers run."""
    return {
        "name": "bench",
        "base_model": base,
        "dataset": str(data),
        "val_fraction": 0.0,
        "max_seq_len": args.max_seq_len,
        "batch_size": args.batch_size,
        "max_steps": args.steps,
        "learning_rate": 2e-4,
        "warmup_steps": 1,
        "lr_scheduler": "cosine",
        "lora_r": 8,
        "lora_alpha": 16,
        "save_every": 10**6,
        "eval_every": 10**6,
        "seed": 0,
    }


def _print(summary: dict[str, Any], peak: float) -> None:
    ours, base_result = summary["openlora"], summary["transformers_trainer"]
    threads, fpt = summary["torch_threads"], summary["flops_per_token"]
    print(
        f"model={summary['model']} threads={threads} matmul peak={peak:.1f} GFLOP/s  "
        f"flops/token={fpt / 1e6:.1f} M"
    )
    print(f"{'trainer':<24}{'tokens/s':>12}{'tokens/step':>14}{'padding':>10}{'MFU':>9}")
    for name, result in (("openlora (packed)", ours), ("transformers Trainer", base_result)):
        print(
            f"{name:<24}{result['tokens_per_s']:>12.1f}{result['tokens_per_step']:>14.0f}"
            f"{result['padding_fraction']:>10.1%}{result['mfu']:>9.1%}"
        )
    print(f"ratio openlora / Trainer: {summary['ratio']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2, help="first steps left out of the timing")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-seq-len", type=int, default=512)
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.model == "tiny":
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.fixtures.tiny_models import build_tiny_model

            base = str(build_tiny_model(workdir / "tiny", "llama"))
        else:
            base = EMBEDDED_BASE
        data = make_dataset(workdir / "data.jsonl", rows=160, seed=0)
        settings = _settings(args, base, data)
        threads = torch.get_num_threads()
        peak = matmul_peak_gflops()
        ours = run_openlora(settings, workdir, args.warmup)
        base_result = run_baseline(settings, workdir, args.warmup)
        model = base_result.pop("model")
        fpt = flops_per_token(model, ours["mean_context"])
        for result in (ours, base_result):
            result["mfu"] = result["tokens_per_s"] * fpt / (peak * 1e9)
        ratio = ours["tokens_per_s"] / base_result["tokens_per_s"]
    summary = {
        "model": args.model,
        "steps": args.steps,
        "timed_steps": ours["timed_steps"],
        "batch_size": args.batch_size,
        "max_seq_len": args.max_seq_len,
        "torch_threads": threads,
        "matmul_peak_gflops": round(peak, 2),
        "flops_per_token": fpt,
        "openlora": ours,
        "transformers_trainer": base_result,
        "ratio": ratio,
    }
    _print(summary, peak)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"trainer_throughput_{args.model}.json"
    out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
