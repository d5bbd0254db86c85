"""The LoRA fine-tuning recipe: setup, train, save_checkpoint, cleanup.

One class owns one run: it prepares data and model, runs AdamW with warmup + schedule, gradient
accumulation and clipping, guards against NaN and divergence, applies live patches from
``control.json``, evaluates, commits checkpoints and writes the adapter. Everything it observes
goes to ``metrics.jsonl``; how the run ended is returned as a :class:`RunResult`. Exceptions
(data errors, OOM, bad models) are classified by ``openlora.trainer.main``, not here.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from openlora.trainer import checkpoints
from openlora.trainer.config import TrainConfig
from openlora.trainer.control import ControlPatch, ControlReader, PatchRejected
from openlora.trainer.data import (
    IGNORE_INDEX,
    DatasetStats,
    PackedSequence,
    collate,
    dataset_stats,
    epoch_order,
    pack_examples,
    split_validation,
    tokenize_file,
)
from openlora.trainer.data_files import ColumnMap
from openlora.trainer.export.hf_formats import write_adapter
from openlora.trainer.export.publish import publish
from openlora.trainer.guards import StopFlag
from openlora.trainer.loss import LabelledTokenLoss
from openlora.trainer.models import apply_lora, load_base_model, load_tokenizer, resolve_source
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir
from openlora.trainer.telemetry import HardwareProbe, MetricsWriter

STATE_FILE = "training_state.pt"
TRAINER_STATE = "trainer_state.json"


def lr_factor(step: int, warmup: int, total: int, kind: str) -> float:
    """Multiplier of the peak lr at optimizer step ``step`` (0-based)."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    if kind == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class LoRARecipe:
    """Single-device LoRA training over a run directory."""

    def __init__(self, run_dir: RunDir, config: TrainConfig, stop: StopFlag | None = None) -> None:
        self.run_dir = run_dir
        self.config = config
        self.stop = stop if stop is not None else StopFlag()
        self.metrics = MetricsWriter(run_dir.metrics)
        self.step = 0
        self.micro_batches_done = 0
        self.min_loss = math.inf
        self.above_min_streak = 0
        self.last_loss: float | None = None
        self.last_val_loss: float | None = None
        self.current_batch_shape: tuple[int, int] | None = None
        self.live = {
            "max_grad_norm": config.max_grad_norm,
            "eval_every": config.eval_every,
            "save_every": config.save_every,
        }
        self.stats: DatasetStats | None = None
        self._order_cache: tuple[int, list[int]] | None = None

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        """Prepare data first (so a data error leaves no other trace), then model and optimizer."""
        cfg = self.config
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.use_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
        if cfg.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device: cuda was asked for but torch sees no CUDA device")
        self.device = torch.device("cuda" if self.use_cuda else "cpu")
        self.autocast_dtype = self._autocast_dtype()
        self._seed_everything(cfg.seed)

        source = self.source = resolve_source(cfg)
        self.tokenizer = load_tokenizer(source)
        self._prepare_data()

        compute_dtype = self.autocast_dtype or torch.float32
        model = load_base_model(source, cfg, self.use_cuda, compute_dtype)
        torch.manual_seed(cfg.seed)
        self.model = apply_lora(model, cfg)
        self.model.train()
        self.loss_fn = LabelledTokenLoss(self.model)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.trainable,
            lr=cfg.learning_rate,
            betas=(cfg.adam_beta1, cfg.adam_beta2),
            weight_decay=cfg.weight_decay,
        )
        self.total_steps = self._total_steps()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: lr_factor(s, cfg.warmup_steps, self.total_steps, cfg.lr_scheduler),
        )
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        self.probe = HardwareProbe(self.use_cuda)
        self.metrics.write(
            "run_start",
            total_steps=self.total_steps,
            device=str(self.device),
            precision=str(self.autocast_dtype or torch.float32).replace("torch.", ""),
            base_model=source.describe(),
            model_type=getattr(self.model.config, "model_type", None),
            trainable_params=sum(p.numel() for p in self.trainable),
            total_params=sum(p.numel() for p in self.model.parameters()),
            target_modules=sorted(self.model.peft_config["default"].target_modules),
            dataset=self.stats.__dict__ if self.stats else None,
        )
        applied = self._resume()
        self.control = ControlReader(self.run_dir.control, applied)

    def _autocast_dtype(self) -> torch.dtype | None:
        if not self.use_cuda or self.config.precision == "fp32":
            return None
        if self.config.precision == "fp16":
            return torch.float16
        if self.config.precision == "bf16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    @staticmethod
    def _seed_everything(seed: int) -> None:
        random.seed(seed)
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)

    def _prepare_data(self) -> None:
        cfg = self.config
        columns = ColumnMap(cfg.prompt_column, cfg.response_column, cfg.text_column)
        examples, dropped = tokenize_file(Path(cfg.dataset), self.tokenizer, cfg.max_seq_len, columns)
        if cfg.val_dataset:
            train = examples
            val, dropped_val = tokenize_file(Path(cfg.val_dataset), self.tokenizer, cfg.max_seq_len, columns)
            dropped += dropped_val
        else:
            train, val = split_validation(examples, cfg.val_fraction, cfg.seed)
        self.train_seqs = pack_examples(train, cfg.max_seq_len, cfg.packing)
        self.val_seqs = pack_examples(val, cfg.max_seq_len, cfg.packing)
        self.stats = dataset_stats(train, val, dropped, self.train_seqs, self.val_seqs)
        self.batches_per_epoch = math.ceil(len(self.train_seqs) / cfg.batch_size)

    def _total_steps(self) -> int:
        if self.config.max_steps:
            return self.config.max_steps
        micro = math.ceil(self.config.epochs * self.batches_per_epoch)
        return max(1, math.ceil(micro / self.config.grad_accum))

    # ------------------------------------------------------------ data order
    def _micro_batch(self, index: int) -> list[PackedSequence]:
        """The ``index``-th micro-batch of the whole run: a pure function of seed and index."""
        epoch, within = divmod(index, self.batches_per_epoch)
        if self._order_cache is None or self._order_cache[0] != epoch:
            self._order_cache = (epoch, epoch_order(len(self.train_seqs), self.config.seed, epoch))
        order = self._order_cache[1]
        bs = self.config.batch_size
        return [self.train_seqs[i] for i in order[within * bs : (within + 1) * bs]]

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.autocast_dtype)

    def _loss_sum(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.loss_fn(batch, self._autocast())

    # ------------------------------------------------------------------ train
    def train(self) -> RunResult:
        """Run optimizer steps until the budget, a guard or a stop signal ends the run."""
        cfg = self.config
        start_time = time.time()
        tqdm.monitor_interval = 0  # no monitor thread: it would need memory under memory_limit_gb
        bar = tqdm(total=self.total_steps, initial=self.step, desc=cfg.name, unit="step", dynamic_ncols=True)
        try:
            while self.step < self.total_steps:
                if self.stop:
                    return self._stopped()
                outcome = self._train_step()
                bar.update(1)
                bar.set_postfix(
                    loss=f"{self.last_loss:.4f}", lr=f"{self.optimizer.param_groups[0]['lr']:.2e}"
                )
                if outcome is not None:
                    return outcome
                self._apply_control()
                if self.val_seqs and self.step % self.live["eval_every"] == 0:
                    self.evaluate()
                if self.step % self.live["save_every"] == 0 and self.step < self.total_steps:
                    self.save_checkpoint()
        finally:
            bar.close()
        return self._finish(time.time() - start_time)

    def _train_step(self) -> RunResult | None:
        cfg = self.config
        began = time.perf_counter()
        micro = [
            collate(self._micro_batch(self.micro_batches_done + i), self.tokenizer.pad_token_id)
            for i in range(cfg.grad_accum)
        ]
        label_tokens = sum(int((mb["labels"][:, 1:] != IGNORE_INDEX).sum()) for mb in micro)
        real_tokens = sum(int(mb["real_tokens"]) for mb in micro)
        total = torch.zeros((), device=self.device)
        for mb in micro:
            mb = self._to_device(mb)
            self.current_batch_shape = tuple(mb["input_ids"].shape)
            loss = self._loss_sum(mb) / max(1, label_tokens)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
            else:
                loss.backward()
            total += loss.detach()
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        clip = self.live["max_grad_norm"] or math.inf
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.trainable, clip))
        loss_value = float(total)
        lr = self.optimizer.param_groups[0]["lr"]
        self.micro_batches_done += cfg.grad_accum
        self.step += 1
        if not (math.isfinite(loss_value) and math.isfinite(grad_norm)) and self.scaler is None:
            self.metrics.write("step", step=self.step, loss=loss_value, grad_norm=grad_norm, lr=lr)
            what = "loss" if not math.isfinite(loss_value) else "gradient norm"
            return self._guard_result(
                RunStatus.NAN,
                f"non-finite {what} at step {self.step}",
                {"loss": loss_value, "grad_norm": grad_norm, "lr": lr, "last_finite_loss": self.last_loss},
            )
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        step_time = time.perf_counter() - began
        self.last_loss = loss_value
        if self.step % cfg.log_every == 0 or self.step == self.total_steps:
            self.metrics.write(
                "step",
                step=self.step,
                epoch=round(self.micro_batches_done / self.batches_per_epoch, 4),
                loss=loss_value,
                grad_norm=grad_norm,
                lr=lr,
                tokens=real_tokens,
                label_tokens=label_tokens,
                tokens_per_s=round(real_tokens / step_time, 2),
                step_time_s=round(step_time, 4),
                **self.probe.sample(),
            )
        return self._divergence_check(loss_value)

    def _divergence_check(self, loss: float) -> RunResult | None:
        cfg = self.config
        self.min_loss = min(self.min_loss, loss)
        if loss > cfg.diverge_factor * self.min_loss:
            self.above_min_streak += 1
        else:
            self.above_min_streak = 0
        if self.above_min_streak >= cfg.diverge_patience:
            return self._guard_result(
                RunStatus.DIVERGED,
                f"loss {loss:.4g} stayed above {cfg.diverge_factor}× its minimum {self.min_loss:.4g} "
                f"for {self.above_min_streak} steps",
                {
                    "loss": loss,
                    "running_min": self.min_loss,
                    "factor": cfg.diverge_factor,
                    "patience": cfg.diverge_patience,
                },
            )
        return None

    def _guard_result(self, status: RunStatus, message: str, evidence: dict[str, Any]) -> RunResult:
        good = checkpoints.newest_complete(self.run_dir.checkpoints)
        self.metrics.write("guard", status=status.value, step=self.step, message=message)
        return RunResult(
            status=status,
            message=message,
            step=self.step,
            evidence=evidence,
            final_metrics=self._final_metrics(),
            checkpoint=str(good.path) if good else None,
        )

    def _apply_control(self) -> None:
        try:
            patch = self.control.poll()
        except PatchRejected as exc:
            self.metrics.write("patch_rejected", step=self.step, patch_id=exc.patch_id, reason=str(exc))
            return
        if patch is not None:
            self.apply_patch(patch)

    def apply_patch(self, patch: ControlPatch) -> None:
        """Apply a validated patch; the lr change also moves the scheduler's base so it sticks."""
        changes = patch.changes()
        if "learning_rate" in changes:
            new_lr = changes["learning_rate"]
            self.scheduler.base_lrs = [new_lr for _ in self.scheduler.base_lrs]
            factor = self.scheduler.lr_lambdas[0](self.scheduler.last_epoch)
            for group in self.optimizer.param_groups:
                group["initial_lr"] = new_lr
                group["lr"] = new_lr * factor
        for key in ("max_grad_norm", "eval_every", "save_every"):
            if key in changes:
                self.live[key] = changes[key]
        self.metrics.write("patch_applied", step=self.step, patch_id=patch.patch_id, changes=changes)

    @torch.no_grad()
    def evaluate(self) -> float | None:
        """Mean validation loss over up to ``eval_batches`` batches, in a fixed order."""
        if not self.val_seqs:
            return None
        self.model.eval()
        loss_sum = 0.0
        tokens = 0
        bs = self.config.batch_size
        for i in range(0, min(len(self.val_seqs), self.config.eval_batches * bs), bs):
            batch = self._to_device(collate(self.val_seqs[i : i + bs], self.tokenizer.pad_token_id))
            loss_sum += float(self._loss_sum(batch))
            tokens += int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        self.model.train()
        self.last_val_loss = loss_sum / max(1, tokens)
        self.metrics.write("eval", step=self.step, val_loss=self.last_val_loss, val_tokens=tokens)
        return self.last_val_loss

    # ------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> checkpoints.Checkpoint:
        """Commit LoRA weights, optimizer, scheduler, RNG, data position and settings atomically."""
        import json

        def write(folder: Path) -> None:
            self.model.save_pretrained(folder / "adapter", save_embedding_layers=False)
            state = {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "rng_torch": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if self.use_cuda else None,
                "rng_python": random.getstate(),
            }
            torch.save(state, folder / STATE_FILE)
            trainer_state = {
                "step": self.step,
                "micro_batches_done": self.micro_batches_done,
                "live": self.live,
                "applied_patches": sorted(self.control.applied),
                "min_loss": self.min_loss if math.isfinite(self.min_loss) else None,
                "above_min_streak": self.above_min_streak,
                "last_loss": self.last_loss,
                "config": self.config.model_dump(),
            }
            (folder / TRAINER_STATE).write_text(json.dumps(trainer_state, indent=2), encoding="utf-8")

        committed = checkpoints.commit_checkpoint(self.run_dir.checkpoints, self.step, write)
        checkpoints.prune_checkpoints(self.run_dir.checkpoints, self.config.keep_checkpoints)
        self.metrics.write("checkpoint", step=self.step, path=str(committed.path))
        return committed

    def _resume(self) -> set[str]:
        """Load the newest complete checkpoint, if any; returns the patch ids it had applied."""
        import json

        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        def skipped(checkpoint: checkpoints.Checkpoint, reason: str) -> None:
            self.metrics.write(
                "checkpoint_skipped", step=checkpoint.step, path=str(checkpoint.path), reason=reason
            )

        found = checkpoints.newest_complete(self.run_dir.checkpoints, on_skip=skipped)
        if found is None:
            return set()
        weights = load_file(
            str(found.path / "adapter" / "adapter_model.safetensors"), device=str(self.device)
        )
        set_peft_model_state_dict(self.model, weights)
        state = torch.load(found.path / STATE_FILE, weights_only=True, map_location=self.device)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_torch"].cpu())
        if self.use_cuda and state["rng_cuda"] is not None:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng_cuda"]])
        version, internal, gauss = state["rng_python"]
        random.setstate((version, tuple(internal), gauss))
        trainer_state = json.loads((found.path / TRAINER_STATE).read_text(encoding="utf-8"))
        self.step = trainer_state["step"]
        self.micro_batches_done = trainer_state["micro_batches_done"]
        self.live.update(trainer_state["live"])
        self.min_loss = trainer_state["min_loss"] if trainer_state["min_loss"] is not None else math.inf
        self.above_min_streak = trainer_state["above_min_streak"]
        self.last_loss = trainer_state["last_loss"]
        self._adopt_changed_settings(trainer_state["config"])
        self.metrics.write("resumed", step=self.step, path=str(found.path))
        return set(trainer_state["applied_patches"])

    def _adopt_changed_settings(self, saved: dict[str, Any]) -> None:
        """A relaunch may resume another attempt's checkpoint with new settings: they win."""
        changes = {}
        if saved.get("learning_rate") != self.config.learning_rate:
            changes["learning_rate"] = self.config.learning_rate
        for key in ("max_grad_norm", "eval_every", "save_every"):
            if saved.get(key) != getattr(self.config, key):
                changes[key] = getattr(self.config, key)
        if changes:
            self.apply_patch(ControlPatch(patch_id=f"spec-{self.step}", **changes))

    # ------------------------------------------------------------------ ending
    def _final_metrics(self) -> dict[str, float]:
        figures: dict[str, float] = {"steps": float(self.step)}
        if self.last_loss is not None and math.isfinite(self.last_loss):
            figures["train_loss"] = self.last_loss
        if math.isfinite(self.min_loss):
            figures["min_train_loss"] = self.min_loss
        if self.last_val_loss is not None:
            figures["val_loss"] = self.last_val_loss
        return figures

    def _stopped(self) -> RunResult:
        committed = self.save_checkpoint()
        message = f"stopped by {self.stop.signal_name} at step {self.step}; checkpoint committed"
        self.metrics.write("stopped", step=self.step, signal=self.stop.signal_name)
        return RunResult(
            status=RunStatus.KILLED,
            message=message,
            step=self.step,
            evidence={"signal": self.stop.signal_name},
            final_metrics=self._final_metrics(),
            checkpoint=str(committed.path),
        )

    def _finish(self, wall_s: float) -> RunResult:
        if self.val_seqs:
            self.evaluate()
        committed = self.save_checkpoint()
        publish(
            self.run_dir.exports, "adapter", lambda folder: write_adapter(self.model, self.tokenizer, folder)
        )
        metrics = self._final_metrics()
        metrics["wall_s"] = round(wall_s, 3)
        self.metrics.write("completed", step=self.step, **metrics)
        return RunResult(
            status=RunStatus.COMPLETED,
            message=f"trained {self.step} steps; final loss {self.last_loss:.4f}",
            step=self.step,
            final_metrics=metrics,
            adapter_dir=str(self.run_dir.adapter),
            checkpoint=str(committed.path),
        )

    def export_outputs(self, result: RunResult) -> RunResult:
        """Build the config's extra ``outputs`` for a completed run; a failed check ends in status error."""
        from openlora.trainer.export.exporter import ExportError, ExportSession, export_run

        extra = [name for name in self.config.outputs if name != "adapter"]
        if not extra:
            return result
        session = ExportSession(
            self.run_dir, self.config, self.source, self.tokenizer, self.model, self.run_dir.adapter
        )
        try:
            entries = export_run(self.run_dir.root, extra, self.config.gguf_types, session=session)
        except ExportError as exc:
            self.metrics.write("export_failed", step=self.step, message=str(exc))
            result.status = RunStatus.ERROR
            result.message = f"training completed but {exc}"
            result.evidence = {"kind": "export", "error": str(exc)}
            return result
        for name, entry in entries.items():
            self.metrics.write(
                "exported", step=self.step, format=name, path=str(self.run_dir.exports / entry["path"])
            )
        result.evidence["exports"] = sorted(entries)
        return result

    def cleanup(self) -> None:
        self.metrics.close()
