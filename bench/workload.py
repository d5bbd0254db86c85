"""The workload the trainer benchmarks share: log-summary pairs of varied length and one LoRA recipe.

bench/trainer_throughput.py, bench/trainer_profile.py and bench/gpu_check.py train the same data
with the same settings, so their figures (tokens/s, the per-phase profile, the GPU runs) compare.
Standard library only: gpu_check imports it before it knows whether a CUDA device is there.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

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


def training_settings(
    name: str, base: str, data: Path, steps: int, max_seq_len: int = 512, batch_size: int = 4
) -> dict[str, Any]:
    """The training config the benchmarks run: LoRA r 8 / alpha 16, cosine after one warm-up step,
    no validation split, no checkpoint or evaluation inside the timed steps."""
    return {
        "name": name,
        "base_model": base,
        "dataset": str(data),
        "val_fraction": 0.0,
        "max_seq_len": max_seq_len,
        "batch_size": batch_size,
        "max_steps": steps,
        "learning_rate": 2e-4,
        "warmup_steps": 1,
        "lr_scheduler": "cosine",
        "lora_r": 8,
        "lora_alpha": 16,
        "save_every": 10**6,
        "eval_every": 10**6,
        "seed": 0,
    }
