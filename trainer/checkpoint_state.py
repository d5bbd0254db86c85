"""What a checkpoint holds, and how resume puts it back and adopts a relaunch's settings.

For: the files inside one checkpoint folder — ``adapter/`` (the PEFT LoRA weights),
``training_state.pt`` (optimizer, scheduler, grad scaler, torch / CUDA / Python RNG states — of
every rank under DDP, gathered by rank 0, which alone writes) and
``trainer_state.json`` (step, data position, live settings, applied patch ids, divergence
counters, the config the run had) — writing them, restoring them into a set-up model and
optimizer, and telling which settings of a new config differ from the saved one (a relaunch
resuming another attempt's checkpoint: the new settings win). Not for: committing, verifying or
pruning checkpoint folders (``checkpoints``), deciding when to save (the recipe), or applying the
adopted settings (``live_patch``).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from openlora.trainer.config import TrainConfig
from openlora.trainer.live_patch import LIVE_KEYS

STATE_FILE = "training_state.pt"
TRAINER_STATE = "trainer_state.json"
ADAPTER_DIR = "adapter"


@dataclass
class TrainingParts:
    """The live objects a checkpoint is saved from and restored into."""

    model: Any
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler | None
    device: torch.device
    use_cuda: bool


@dataclass
class Progress:
    """Where the run stands, as ``trainer_state.json`` records it."""

    step: int
    micro_batches_done: int
    live: dict[str, Any]
    applied_patches: list[str]
    min_loss: float
    above_min_streak: int
    last_loss: float | None
    config: dict[str, Any]
    first_loss: float = math.nan  # the run's first step loss (the divergence guard's reference)
    world_size: int = 1  # processes of the run (DDP); a micro-batch index counts global batches

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "micro_batches_done": self.micro_batches_done,
            "live": self.live,
            "applied_patches": self.applied_patches,
            "min_loss": self.min_loss if math.isfinite(self.min_loss) else None,
            "above_min_streak": self.above_min_streak,
            "last_loss": self.last_loss,
            "config": self.config,
            "first_loss": self.first_loss if math.isfinite(self.first_loss) else None,
            "world_size": self.world_size,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        return cls(
            step=data["step"],
            micro_batches_done=data["micro_batches_done"],
            live=data["live"],
            applied_patches=data["applied_patches"],
            min_loss=data["min_loss"] if data["min_loss"] is not None else math.inf,
            above_min_streak=data["above_min_streak"],
            last_loss=data["last_loss"],
            config=data["config"],
            first_loss=data["first_loss"] if data.get("first_loss") is not None else math.nan,
            world_size=int(data.get("world_size", 1)),
        )


def rng_states(use_cuda: bool) -> dict[str, Any]:
    """This process's torch, CUDA and Python RNG states."""
    return {
        "rng_torch": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if use_cuda else None,
        "rng_python": random.getstate(),
    }


def write_state(
    folder: Path, parts: TrainingParts, progress: Progress, rank_rngs: list[dict[str, Any]] | None = None
) -> None:
    """Write the adapter, optimizer / RNG state and progress into the (staging) ``folder``;
    ``rank_rngs`` are every rank's RNG states under DDP (rank 0's are the top-level ones)."""
    parts.model.save_pretrained(folder / ADAPTER_DIR, save_embedding_layers=False)
    state = {
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "scaler": parts.scaler.state_dict() if parts.scaler is not None else None,
        **rng_states(parts.use_cuda),
        "rng_ranks": rank_rngs,
    }
    torch.save(state, folder / STATE_FILE)
    (folder / TRAINER_STATE).write_text(json.dumps(progress.to_json(), indent=2), encoding="utf-8")


def restore_state(folder: Path, parts: TrainingParts, rank: int = 0, world: int = 1) -> Progress:
    """Load a verified checkpoint ``folder`` into ``parts``; returns the progress it recorded. Rank
    ``rank`` of ``world`` takes its own RNG states when the checkpoint has that many ranks' (else
    rank 0's)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = load_file(str(folder / ADAPTER_DIR / "adapter_model.safetensors"), device=str(parts.device))
    set_peft_model_state_dict(parts.model, weights)
    state = torch.load(folder / STATE_FILE, weights_only=True, map_location=parts.device)
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    if parts.scaler is not None and state["scaler"] is not None:
        parts.scaler.load_state_dict(state["scaler"])
    ranks = state.get("rng_ranks")
    rng = ranks[rank] if isinstance(ranks, list) and len(ranks) == world else state
    torch.set_rng_state(rng["rng_torch"].cpu())
    if parts.use_cuda and rng["rng_cuda"] is not None:
        torch.cuda.set_rng_state_all([s.cpu() for s in rng["rng_cuda"]])
    version, internal, gauss = rng["rng_python"]
    random.setstate((version, tuple(internal), gauss))
    return Progress.from_json(json.loads((folder / TRAINER_STATE).read_text(encoding="utf-8")))


def changed_settings(saved: dict[str, Any], config: TrainConfig) -> dict[str, Any]:
    """The learning rate and live settings of ``config`` that differ from the ``saved`` config's."""
    changes: dict[str, Any] = {}
    if saved.get("learning_rate") != config.learning_rate:
        changes["learning_rate"] = config.learning_rate
    for key in LIVE_KEYS:
        if saved.get(key) != getattr(config, key):
            changes[key] = getattr(config, key)
    return changes
