"""The LoRA fine-tuning recipe: setup, train, save_checkpoint, cleanup.

One class owns one run and its loop: it prepares data and model, runs AdamW with warmup +
schedule, gradient accumulation and clipping, guards against NaN and divergence, polls live
patches between steps, evaluates, commits checkpoints and writes the adapter. Everything it
observes goes to ``metrics.jsonl``; how the run ended is returned as a :class:`RunResult`.
Under torchrun each rank runs this same loop on its share of every global batch (see ``batches``);
the few collectives it needs (``ranks``) are no-ops in one process, and only rank 0 writes files.
Not here: saving and resuming (``recipe_checkpoints``, a mixin; the files: ``checkpoint_state``), how a patch
changes the optimizer (``live_patch``), the schedule (``optim``), data order (``batches``),
exporting outputs (``outputs``); exceptions (data errors, OOM, bad models) are classified by
``openlora.trainer.main``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch.profiler import record_function
from tqdm import tqdm

from openlora.trainer import (
    checkpoints,
    ddp,
    device,
    hold,
    live_patch,
    optim,
    outputs,
    segment_attention,
)
from openlora.trainer.batches import MicroBatchOrder, prepare_data, total_steps
from openlora.trainer.config import TrainConfig
from openlora.trainer.control import ControlPatch, ControlReader
from openlora.trainer.data import IGNORE_INDEX, DatasetStats, collate
from openlora.trainer.divergence import DivergenceWatch
from openlora.trainer.guards import StopFlag
from openlora.trainer.loss import LabelledTokenLoss
from openlora.trainer.models import apply_lora, fetch_source, load_base_model, load_tokenizer, resolve_source
from openlora.trainer.ranks import RankGroup
from openlora.trainer.recipe_checkpoints import CheckpointingMixin
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir
from openlora.trainer.telemetry import HardwareProbe, MetricsWriter

# Profiler labels of a step's phases (bench/trainer_profile.py tabulates them; free when not profiling).
PHASE_DATA = "openlora.data"
PHASE_FORWARD = "openlora.forward"
PHASE_BACKWARD = "openlora.backward"
PHASE_OPTIMIZER = "openlora.optimizer"
PHASE_TELEMETRY = "openlora.telemetry"
PHASE_CONTROL = "openlora.control"
PHASES = (PHASE_DATA, PHASE_FORWARD, PHASE_BACKWARD, PHASE_OPTIMIZER, PHASE_TELEMETRY, PHASE_CONTROL)


class LoRARecipe(CheckpointingMixin):
    """LoRA training over a run directory: one device, or one rank of a DDP run."""

    def __init__(
        self,
        run_dir: RunDir,
        config: TrainConfig,
        stop: StopFlag | None = None,
        ranks: RankGroup | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.config = config
        self.stop = stop if stop is not None else StopFlag()
        self.ranks = ranks if ranks is not None else RankGroup()
        self.metrics = MetricsWriter(run_dir.metrics if self.ranks.is_main else None)
        self.ddp: torch.nn.parallel.DistributedDataParallel | None = None
        self.step = 0
        self.micro_batches_done = 0
        self.divergence = DivergenceWatch(config.diverge_factor, config.diverge_patience)
        self.last_loss: float | None = None
        self.last_val_loss: float | None = None
        self.evaluated_at: int | None = None  # the step of the last evaluation
        self.current_batch_shape: tuple[int, ...] | None = None
        self.live = live_patch.live_settings(config)
        self.stats: DatasetStats | None = None

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        """Prepare data first (so a data error leaves no other trace), then model and optimizer."""
        cfg = self.config
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.device = device.pick_device(cfg, self.ranks.local_rank if self.ranks.distributed else None)
        self.use_cuda = self.device.type == "cuda"
        self.ranks.start(self.use_cuda, cfg.launcher.timeout_s)
        self.autocast_dtype = device.autocast_dtype(self.use_cuda, cfg.precision)
        device.seed_everything(cfg.seed)

        progress = self._download_progress
        source = self.source = fetch_source(resolve_source(cfg), progress)
        self.tokenizer = load_tokenizer(source)
        data = prepare_data(cfg, self.tokenizer, self.ranks.world)
        self.train_seqs, self.val_seqs, self.stats = data.train_seqs, data.val_seqs, data.stats
        self.batches_per_epoch = data.batches_per_epoch
        self.micro_batch = MicroBatchOrder(data, cfg.batch_size, cfg.seed, self.ranks.rank, self.ranks.world)

        model = load_base_model(source, cfg, self.use_cuda, self.autocast_dtype or torch.float32)
        self.per_example_attention = cfg.packed_attention == "per_example" and segment_attention.enable(model)
        torch.manual_seed(cfg.seed)
        self.model = apply_lora(model, cfg)
        self.model.train()
        self.loss_fn = LabelledTokenLoss(self.model, per_example_attention=self.per_example_attention)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        if self.ranks.distributed:
            self.ddp = ddp.wrap(self.model, self._loss_sum, self.ranks, self.device, self.trainable)
            torch.manual_seed(cfg.seed + self.ranks.rank)  # LoRA dropout differs by rank, as data does
        self.optimizer = optim.build_optimizer(self.trainable, cfg)
        self.total_steps = total_steps(cfg, self.batches_per_epoch)
        self.scheduler = optim.build_scheduler(self.optimizer, cfg, self.total_steps)
        self.scaler = device.grad_scaler(self.autocast_dtype)
        self.probe = HardwareProbe(self.use_cuda)
        self._write_run_start()
        applied = self._resume()
        self.control = ControlReader(self.run_dir.control, applied)

    def _download_progress(self, info: dict[str, Any]) -> None:
        """A hub base model's download, per file: ``download`` events (throttled by ``hub_download``)."""
        self.metrics.write("download", **info)

    def _write_run_start(self) -> None:
        self.metrics.write(
            "run_start",
            total_steps=self.total_steps,
            device=str(self.device),
            threads=torch.get_num_threads(),
            precision=str(self.autocast_dtype or torch.float32).replace("torch.", ""),
            base_model=self.source.describe(),
            model_type=getattr(self.model.config, "model_type", None),
            trainable_params=sum(p.numel() for p in self.trainable),
            total_params=sum(p.numel() for p in self.model.parameters()),
            target_modules=sorted(self.model.peft_config["default"].target_modules),
            packed_attention="per_example" if self.per_example_attention else "masked",
            dataset=self.stats.__dict__ if self.stats else None,
            **ddp.start_figures(self.ranks, self.config),
        )

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def _loss_sum(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.loss_fn(batch, device.autocast(self.autocast_dtype))

    # ------------------------------------------------------------------ train
    def train(self) -> RunResult:
        """Run optimizer steps until the budget, a guard or a stop signal ends the run."""
        start_time = time.time()
        tqdm.monitor_interval = 0  # no monitor thread: it would need memory under memory_limit_gb
        bar = tqdm(
            total=self.total_steps, initial=self.step, desc=self.config.name, unit="step", dynamic_ncols=True
        )
        try:
            while self.step < self.total_steps:
                if self.ranks.any(bool(self.stop), self.device):  # every rank stops at the same step
                    return self._stopped()
                outcome = self._train_step()
                bar.update(1)
                bar.set_postfix(
                    loss=f"{self.last_loss:.4f}", lr=f"{self.optimizer.param_groups[0]['lr']:.2e}"
                )
                if outcome is not None:
                    return outcome
                self._between_steps()
        finally:
            bar.close()
        return self._finish(time.time() - start_time)

    def _between_steps(self) -> None:
        """After a step: wait out a hold, apply a live patch, evaluate and checkpoint when due."""
        with record_function(PHASE_CONTROL):
            patch = None
            if self.ranks.is_main:  # the other ranks wait for its patch (or None) in the broadcast
                self._wait_while_held()
                patch = live_patch.poll_patch(self.control, self.metrics, self.step)
            patch = self.ranks.broadcast(patch)
            if patch is not None:
                self.apply_patch(patch)
        if self.val_seqs and self.step % self.live["eval_every"] == 0:
            self.evaluate()
        if self.step % self.live["save_every"] == 0 and self.step < self.total_steps:
            self.save_checkpoint()

    def _wait_while_held(self) -> None:
        """Wait while the supervisor decides (``hold.json``); its patch, if any, is read right after."""
        started: list[str] = []

        def holding(hold_id: str) -> None:
            started.append(hold_id)
            self.metrics.write("holding", step=self.step, hold_id=hold_id)

        seconds = hold.wait_while_held(self.run_dir.hold, lambda: bool(self.stop), holding)
        if started:
            self.metrics.write("held", step=self.step, hold_id=started[0], seconds=round(seconds, 2))

    def _micro_batches(self) -> tuple[list[dict[str, Any]], list[float]]:
        """This step's collated micro-batches for this rank and their weights (0 for a filler)."""
        micro, weights = [], []
        for i in range(self.config.grad_accum):
            index = self.micro_batches_done + i
            sequences = self.micro_batch(index)
            weights.append(1.0 if sequences else 0.0)
            micro.append(collate(sequences or self.micro_batch.filler(index), self.tokenizer.pad_token_id))
        return micro, weights

    def _backward(self) -> tuple[float, int, int]:
        """Forward and backward over ``grad_accum`` micro-batches; (loss, label tokens, real tokens) of
        the global batch. Each loss is over the global label-token count, so the gradient DDP averages
        is the one a single process with the whole global batch computes."""
        with record_function(PHASE_DATA):
            micro, weights = self._micro_batches()
            local_labels = sum(
                w * int((mb["labels"][:, 1:] != IGNORE_INDEX).sum())
                for mb, w in zip(micro, weights, strict=True)
            )
            local_real = sum(w * int(mb["real_tokens"]) for mb, w in zip(micro, weights, strict=True))
            label_tokens, real_tokens = (
                int(v) for v in self.ranks.sum([local_labels, local_real], self.device)
            )
        forward = self.ddp if self.ddp is not None else self._loss_sum
        scale = self.ranks.world / max(1, label_tokens)  # DDP divides the summed gradient by world
        total = torch.zeros((), device=self.device)
        for i, (mb, weight) in enumerate(zip(micro, weights, strict=True)):
            with record_function(PHASE_DATA):
                mb = self._to_device(mb)
            self.current_batch_shape = tuple(mb["input_ids"].shape)
            with ddp.sync_context(self.ddp, last=i == len(micro) - 1):
                with record_function(PHASE_FORWARD):
                    loss_sum = forward(mb) * weight
                    loss = loss_sum * scale
                with record_function(PHASE_BACKWARD):
                    if self.scaler is not None:
                        self.scaler.scale(loss).backward()
                    else:
                        loss.backward()
            total += loss_sum.detach() / max(1, label_tokens)
        return self.ranks.sum([float(total)], self.device)[0], label_tokens, real_tokens

    @record_function(PHASE_OPTIMIZER)
    def _optimizer_step(self) -> None:
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _train_step(self) -> RunResult | None:
        began = time.perf_counter()
        loss_value, label_tokens, real_tokens = self._backward()
        with record_function(PHASE_OPTIMIZER):
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            clip = self.live["max_grad_norm"] or math.inf
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.trainable, clip))
        lr = self.optimizer.param_groups[0]["lr"]
        self.micro_batches_done += self.config.grad_accum
        self.step += 1
        if not (math.isfinite(loss_value) and math.isfinite(grad_norm)) and self.scaler is None:
            return self._non_finite(loss_value, grad_norm, lr)
        self._optimizer_step()
        step_time = time.perf_counter() - began
        self.last_loss = loss_value
        if self.step % self.config.log_every == 0 or self.step == self.total_steps:
            with record_function(PHASE_TELEMETRY):
                self._write_step(loss_value, grad_norm, lr, real_tokens, label_tokens, step_time)
        if self.divergence.observe(loss_value):
            message, evidence = self.divergence.message(loss_value), self.divergence.evidence(loss_value)
            return self._guard_result(RunStatus.DIVERGED, message, evidence)
        return None

    def _write_step(
        self, loss: float, grad_norm: float, lr: float, real_tokens: int, label_tokens: int, step_time: float
    ) -> None:
        self.metrics.write(
            "step",
            step=self.step,
            epoch=round(self.micro_batches_done / self.batches_per_epoch, 4),
            loss=loss,
            grad_norm=grad_norm,
            lr=lr,
            tokens=real_tokens,
            label_tokens=label_tokens,
            tokens_per_s=round(real_tokens / step_time, 2),
            step_time_s=round(step_time, 4),
            **ddp.hardware_figures(self.ranks, self.probe.sample(), lr),
        )

    def _non_finite(self, loss: float, grad_norm: float, lr: float) -> RunResult:
        self.metrics.write("step", step=self.step, loss=loss, grad_norm=grad_norm, lr=lr)
        what = "loss" if not math.isfinite(loss) else "gradient norm"
        return self._guard_result(
            RunStatus.NAN,
            f"non-finite {what} at step {self.step}",
            {"loss": loss, "grad_norm": grad_norm, "lr": lr, "last_finite_loss": self.last_loss},
        )

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

    def apply_patch(self, patch: ControlPatch) -> None:
        """Apply a validated patch (the lr change also moves the scheduler's base so it sticks)."""
        changes = live_patch.apply_patch(patch, self.optimizer, self.scheduler, self.live)
        self.metrics.write("patch_applied", step=self.step, patch_id=patch.patch_id, changes=changes)

    @torch.no_grad()
    def evaluate(self) -> float | None:
        """Mean validation loss over up to ``eval_batches`` batches, in a fixed order (under DDP the
        ranks take turns over the batches and sum)."""
        if not self.val_seqs:
            return None
        self.model.eval()
        loss_sum = 0.0
        tokens = 0
        bs = self.config.batch_size
        starts = range(0, min(len(self.val_seqs), self.config.eval_batches * bs), bs)
        for i in starts[self.ranks.rank :: self.ranks.world]:
            batch = self._to_device(collate(self.val_seqs[i : i + bs], self.tokenizer.pad_token_id))
            loss_sum += float(self._loss_sum(batch))
            tokens += int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        self.model.train()
        loss_sum, tokens = self.ranks.sum([loss_sum, tokens], self.device)
        tokens = int(tokens)
        self.last_val_loss = loss_sum / max(1, tokens)
        self.evaluated_at = self.step
        self.metrics.write("eval", step=self.step, val_loss=self.last_val_loss, val_tokens=tokens)
        return self.last_val_loss

    # ------------------------------------------------------------------ ending
    def _final_metrics(self) -> dict[str, float]:
        figures: dict[str, float] = {"steps": float(self.step)}
        if self.last_loss is not None and math.isfinite(self.last_loss):
            figures["train_loss"] = self.last_loss
        if math.isfinite(self.divergence.min_loss):
            figures["min_train_loss"] = self.divergence.min_loss
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
        if self.val_seqs and self.evaluated_at != self.step:  # not twice when the last step was due one
            self.evaluate()
        committed = self.save_checkpoint()
        replicas = ddp.replica_check(self.ranks, self.trainable)
        if self.ranks.is_main:
            outputs.publish_adapter(self.run_dir, self.model, self.tokenizer)
        metrics = self._final_metrics()
        metrics["wall_s"] = round(wall_s, 3)
        self.metrics.write("completed", step=self.step, **metrics, **replicas)
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
        trained = (self.source, self.tokenizer, self.model)
        return outputs.export_outputs(result, self.run_dir, self.config, trained, self.metrics, self.step)

    def cleanup(self) -> None:
        self.metrics.close()
