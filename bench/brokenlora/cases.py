"""The fault cases: synthetic tasks with exact answers, a known-good reference, and one planted fault each.

Tasks (tiny tier: a tiny llama built from a config; smollm2 tier: the embedded SmolLM2):
``kv`` (key → value recall), ``json`` (text → a JSON object), ``labels`` (text → one of three labels).
Every case is a broken version of the task's reference config; fault sizes are drawn from ranges with
the seed. ``expect`` says what a good supervisor does: ``rescue`` (reach the target), ``stop`` (the
data cannot be trained on: say so without burning the budget), ``leave`` (healthy: do nothing).
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLORS = ["red", "blue", "green", "yellow", "black", "white", "pink", "gray", "teal", "gold", "navy", "lime"]
THINGS = ["apple", "sky", "grass", "sun", "night", "snow", "rose", "stone", "sea", "coin", "ink", "leaf"]
NAMES = ["ann", "bob", "eve", "kim", "lee", "max", "sam", "zoe"]
CITIES = ["oslo", "lima", "rome", "kyiv", "pune", "cork"]
GOOD = ["works", "fast", "great", "stable", "clean"]
BAD = ["crashed", "slow", "broken", "failed", "leaked"]

# The known-good tiny-tier config (measured: reaches about half of the achievable loss drop in 60 steps).
TINY_REFERENCE: dict[str, Any] = {
    "learning_rate": 0.05,
    "lr_scheduler": "constant",
    "weight_decay": 0.0,
    "max_steps": 60,
    "max_seq_len": 64,
    "batch_size": 4,
    "val_fraction": 0.2,
    "eval_every": 20,
    "save_every": 20,
    "num_threads": 1,
}
# The known-good SmolLM2 config: the size prior's lr, one pass over the 48 training rows, sequences that
# hold the longest example (SmolLM2's template makes kv and labels rows 36-37 tokens, json rows 54-58;
# one thread each: two attempts share the two cores).
SMOLLM_REFERENCE: dict[str, Any] = {
    "learning_rate": 1e-3,
    "lr_scheduler": "cosine",
    "max_steps": 12,
    "max_seq_len": 64,
    "batch_size": 4,
    "val_fraction": 0.2,
    "eval_every": 4,
    "save_every": 6,
    "num_threads": 1,
}


# The memory the out-of-memory cases give SmolLM2 (``memory_limit_gb``; the tiny tier's 0.05 GiB does not
# hold one 256-token sequence of a 49k-vocabulary model). Measured by the memory probe on 2026-12-01 on
# this project's machine under 1.0 GiB: at 256 tokens batch 2 fits and 4 does not; at the 37 tokens of a
# kv row batch 16 fits and 32 does not — so the reference (batch 4 × 64) fits and every drawn fault does not.
SMOLLM_MEMORY_LIMIT_GB = 1.0


def kv_rows(rng: random.Random, n: int = 60) -> list[dict[str, str]]:
    pairs = list(zip(COLORS, THINGS, strict=True))
    return [
        {"prompt": f"key {c}", "response": f"value {t}"} for c, t in (rng.choice(pairs) for _ in range(n))
    ]


def json_rows(rng: random.Random, n: int = 60) -> list[dict[str, str]]:
    rows = []
    for _ in range(n):
        name, city, age = rng.choice(NAMES), rng.choice(CITIES), rng.randint(20, 60)
        rows.append(
            {
                "prompt": f"{name} is {age} and lives in {city}",
                "response": json.dumps({"name": name, "city": city}),
            }
        )
    return rows


def label_rows(rng: random.Random, n: int = 60) -> list[dict[str, str]]:
    rows = []
    for _ in range(n):
        kind = rng.choice(["positive", "negative", "neutral"])
        word = rng.choice(GOOD if kind == "positive" else BAD if kind == "negative" else ["is", "was"])
        rows.append({"prompt": f"the service {word} today", "response": kind})
    return rows


TASKS: dict[str, Callable[[random.Random, int], list[dict[str, str]]]] = {
    "kv": kv_rows,
    "json": json_rows,
    "labels": label_rows,
}


def garble(text: str, rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.punctuation) for _ in range(max(6, len(text))))


@dataclass
class Case:
    """One broken goal: the fault, its task, the overrides that break the reference, what a good fix does."""

    name: str
    fault: str  # the fault class (memory effect is measured per class)
    task: str
    expect: str  # rescue | stop | leave
    overrides: dict[str, Any] = field(default_factory=dict)
    data: str = "clean"  # clean | garbled_file | masked | shuffled_noise | random_unique
    rows: int = 60
    kind: str = "fault"  # fault | trap | compound | ambiguous | unusual (harmless) | control
    # A validation file beside the training file: "" (none: val_fraction), "overlap" (its rows drawn
    # from the training rows), "other_kind" (plain text while the training rows are pairs).
    eval_data: str = ""
    overlap: float = 0.0  # the share of the validation file's rows that are training rows
    tiers: tuple[str, ...] = ("tiny", "smollm2")
    control_index: int = 0  # healthy controls of one task differ by their training seed


def draw_cases(seed: int, tier: str = "tiny", controls: int = 3) -> list[Case]:
    """The cases of a tier (13 faults on the tiny tier, 25 on the smollm2 tier) with fault sizes drawn
    from their ranges by ``seed``, plus ``controls`` healthy runs (one per task, then more)."""
    faults = [case for case in _all_cases(seed) + _setting_cases(seed) if tier in case.tiers]
    if tier == "smollm2":
        for case in faults:
            if "memory_limit_gb" in case.overrides:
                case.overrides["memory_limit_gb"] = SMOLLM_MEMORY_LIMIT_GB
            # A size that is a fault on SmolLM2 (measured 2026-12-02: 3-6 steps already reach half the
            # reference's loss drop, 1-2 do not); the draw stays as it was. (adam_beta2_low is no fault
            # on SmolLM2 at any size tried: beta2 0.001-0.1 at lr 3e-3 trains; the validity check says so.)
            if case.name == "too_few_steps":
                case.overrides["max_steps"] = max(1, case.overrides["max_steps"] // 3)
    tasks = list(TASKS)
    healthy = [
        Case(
            f"healthy_{tasks[i % len(tasks)]}" + (f"_{i // len(tasks) + 1}" if i >= len(tasks) else ""),
            "healthy",
            tasks[i % len(tasks)],
            "leave",
            kind="control",
            control_index=i,
        )
        for i in range(controls)
    ]
    return faults + healthy


def _all_cases(seed: int) -> list[Case]:
    r = random.Random(seed)
    return [
        Case("nan_lr", "nan", "kv", "rescue", {"learning_rate": r.uniform(20, 50), "weight_decay": 0.1}),
        # On the tiny tier a too-high lr (with decay) saturates the adapter instead of diverging.
        Case(
            "lr_too_high_flat",
            "high_lr",
            "json",
            "rescue",
            {"learning_rate": r.uniform(8, 10), "weight_decay": 0.2},
        ),
        Case("lr_too_low", "plateau", "labels", "rescue", {"learning_rate": r.uniform(1e-7, 1e-6)}),
        Case("too_few_steps", "underfit", "kv", "rescue", {"max_steps": r.randint(3, 6)}),
        Case(
            "overfit_small",
            "overfit",
            "kv",
            "rescue",
            # 75-100 steps (the draw is kept as it was so the tiny tier's later draws do not move):
            # 11-15 passes over 26 training rows at 3× the size prior's lr
            {"max_steps": r.randint(300, 400) // 4, "learning_rate": 3e-3, "eval_every": 15},
            data="random_unique",
            rows=32,
            tiers=("smollm2",),  # the tiny model cannot even memorise 32 pairs: no overfit to induce
        ),
        Case(
            "oom_batch",
            "oom",
            "kv",
            "rescue",
            {"batch_size": r.choice([32, 64]), "max_seq_len": 256, "memory_limit_gb": 0.05},
            rows=600,
        ),
        Case(
            "oom_sequence",
            "oom",
            "json",
            "rescue",
            {"max_seq_len": r.choice([2048, 4096]), "batch_size": 2, "memory_limit_gb": 0.05},
            rows=600,
        ),
        Case("garbled_file", "data_error", "kv", "stop", data="garbled_file"),
        Case(
            "wrong_columns",
            "data_error",
            "json",
            "rescue",
            {"prompt_column": "question", "response_column": "answer"},
        ),
        Case("masked_labels", "data_error", "labels", "stop", data="masked"),
        Case("no_target_modules", "error", "kv", "rescue", {"target_modules": ["not_a_module"]}),
        Case(
            "compound_nan_oom",
            "nan",
            "json",
            "rescue",
            {
                "learning_rate": r.uniform(20, 50),
                "weight_decay": 0.1,
                "batch_size": 32,
                "max_seq_len": 256,
                "memory_limit_gb": 0.05,
            },
            rows=600,
            kind="compound",
        ),
        Case("trap_noise_plateau", "plateau", "labels", "stop", data="shuffled_noise", kind="trap"),
        Case(
            "trap_high_lr_noise",
            "nan",
            "kv",
            "stop",
            {"learning_rate": r.uniform(20, 50), "weight_decay": 0.1},
            data="shuffled_noise",
            kind="trap",
        ),
    ]


SMOLLM = ("smollm2",)


def _setting_cases(seed: int) -> list[Case]:
    """The smollm2 tier's faults of one setting each (one per key the pre-flight check judges and a
    short run can show), validation-file faults, multi-cause faults, and ambiguous underfits (a lr
    inside the prior's range but low, with one pass: more steps and a higher lr are both plausible
    from the symptom alone, which is where an advisor could beat the rules)."""
    r = random.Random(f"settings-{seed}")
    return [
        Case(
            "lora_scale_low",
            "lora_scale",
            "labels",
            "rescue",
            {"lora_alpha": round(r.uniform(0.01, 0.05), 3)},
            tiers=SMOLLM,
        ),
        # Unusual but harmless: dropout 0.96 still meets the target in 12 steps (measured 2026-12-01),
        # so the right action is to leave the run alone (it counts with the healthy controls).
        Case(
            "lora_dropout_high",
            "lora_dropout",
            "kv",
            "leave",
            {"lora_dropout": round(r.uniform(0.9, 0.97), 3)},
            kind="unusual",
            tiers=SMOLLM,
        ),
        Case("warmup_too_long", "warmup", "kv", "rescue", {"warmup_steps": r.randint(80, 200)}, tiers=SMOLLM),
        Case("seq_too_short", "sequence", "json", "rescue", {"max_seq_len": r.randint(16, 48)}, tiers=SMOLLM),
        Case(
            "adam_beta2_low",
            "adam",
            "labels",
            "rescue",
            {"adam_beta2": round(r.uniform(0.01, 0.1), 3), "learning_rate": 3e-3},
            tiers=SMOLLM,
        ),
        Case(
            "grad_clip_off_high_lr",
            "clipping",
            "json",
            "rescue",
            {"max_grad_norm": 0.0, "learning_rate": round(r.uniform(0.05, 0.2), 3)},
            tiers=SMOLLM,
        ),
        Case(
            "val_overlap",
            "validation",
            "json",
            "stop",
            eval_data="overlap",
            overlap=round(r.uniform(0.6, 1.0), 2),
            tiers=SMOLLM,
        ),
        Case("val_other_kind", "validation", "labels", "stop", eval_data="other_kind", tiers=SMOLLM),
        Case(
            "multi_low_lr_long_warmup",
            "plateau",
            "labels",
            "rescue",
            {"learning_rate": r.uniform(1e-6, 1e-5), "warmup_steps": r.randint(60, 120)},
            kind="compound",
            tiers=SMOLLM,
        ),
        Case(
            "multi_short_seq_high_lr",
            "sequence",
            "kv",
            "rescue",
            {"max_seq_len": r.randint(16, 32), "learning_rate": r.uniform(20, 50)},
            kind="compound",
            tiers=SMOLLM,
        ),
        Case(
            "ambiguous_underfit_kv",
            "ambiguous",
            "kv",
            "rescue",
            {"learning_rate": r.uniform(1.1e-4, 1.6e-4)},
            kind="ambiguous",
            tiers=SMOLLM,
        ),
        Case(
            "ambiguous_underfit_json",
            "ambiguous",
            "json",
            "rescue",
            {"learning_rate": r.uniform(1.1e-4, 1.6e-4)},
            kind="ambiguous",
            tiers=SMOLLM,
        ),
    ]


def write_eval_dataset(case: Case, train: Path, folder: Path, seed: int) -> Path | None:
    """The case's validation file, when it has one: training rows (``overlap`` of them) or plain text."""
    if not case.eval_data:
        return None
    rng = random.Random(f"{case.task}-eval-{seed}")
    training = [json.loads(line) for line in train.read_text(encoding="utf-8").splitlines() if line.strip()]
    fresh = TASKS[case.task](rng, 12)
    if case.eval_data == "overlap":
        shared = round(case.overlap * len(fresh))
        rows: list[dict[str, str]] = rng.sample(training, shared) + fresh[shared:]
    else:
        rows = [{"text": f"{row['prompt']} {row['response']}"} for row in fresh]
    path = folder / f"{case.name}-eval.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_dataset(case: Case, folder: Path, seed: int) -> Path:
    """The case's training file (its planted data fault included)."""
    rng = random.Random(f"{case.task}-{seed}")
    rows = TASKS[case.task](rng, case.rows)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case.name}.jsonl"
    if case.data == "garbled_file":
        lines = [json.dumps(row) for row in rows]
        for i in range(0, len(lines), 3):
            lines[i] = lines[i][: len(lines[i]) // 2]  # torn lines: invalid JSON
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    if case.data == "random_unique":  # 32 unrelated pairs: memorised, never generalised → overfit
        words = [w for w in COLORS + THINGS + NAMES + CITIES + GOOD + BAD]
        rows = [
            {
                "prompt": f"key {rng.choice(words)} {rng.choice(words)}",
                "response": f"value {rng.choice(words)}",
            }
            for _ in range(case.rows)
        ]
    elif case.data == "masked":
        rows = [{"prompt": row["prompt"], "response": ""} for row in rows]
    elif case.data == "shuffled_noise":
        rows = [{"prompt": row["prompt"], "response": garble(row["response"], rng)} for row in rows]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
