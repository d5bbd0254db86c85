"""The recipe's checkpoints: what it saves, when it commits one, and how it resumes from one.

A mixin of :class:`~openlora.trainer.recipe.LoRARecipe` (it reads the recipe's model, optimizer,
counters and rank group): ``save_checkpoint`` commits the LoRA weights, optimizer, scheduler, RNG
states, data position and live settings atomically (under DDP rank 0 writes, with every rank's RNG
states, and the others return the same folder), and ``_resume`` puts the newest complete one back
and adopts a relaunch's new settings. What the files hold is ``checkpoint_state``'s; committing,
verifying and pruning folders is ``checkpoints``'.
"""

from __future__ import annotations

from typing import Any

from openlora.trainer import checkpoint_state, checkpoints
from openlora.trainer.control import ControlPatch


class CheckpointingMixin:
    """Saving and resuming for the recipe (see the module docstring)."""

    # The recipe's attributes this mixin reads and sets.
    model: Any
    optimizer: Any
    scheduler: Any
    scaler: Any
    device: Any
    use_cuda: bool
    step: int
    micro_batches_done: int
    live: dict[str, Any]
    control: Any
    divergence: Any
    last_loss: float | None
    config: Any
    ranks: Any
    run_dir: Any
    metrics: Any

    def apply_patch(self, patch: ControlPatch) -> None:  # the recipe's
        raise NotImplementedError

    def _parts(self) -> checkpoint_state.TrainingParts:
        return checkpoint_state.TrainingParts(
            self.model, self.optimizer, self.scheduler, self.scaler, self.device, self.use_cuda
        )

    def _progress(self) -> checkpoint_state.Progress:
        return checkpoint_state.Progress(
            step=self.step,
            micro_batches_done=self.micro_batches_done,
            live=self.live,
            applied_patches=sorted(self.control.applied),
            min_loss=self.divergence.min_loss,
            above_min_streak=self.divergence.above_min_streak,
            first_loss=self.divergence.first_loss,
            last_loss=self.last_loss,
            config=self.config.model_dump(),
            world_size=self.ranks.world,
        )

    def save_checkpoint(self) -> checkpoints.Checkpoint:
        """Commit LoRA weights, optimizer, scheduler, RNG, data position and settings atomically (under
        DDP rank 0 writes, with every rank's RNG states; the others return the same folder)."""
        parts, progress = self._parts(), self._progress()
        rank_rngs = (
            self.ranks.gather(checkpoint_state.rng_states(self.use_cuda)) if self.ranks.distributed else None
        )
        root = self.run_dir.checkpoints
        if not self.ranks.is_main:
            return checkpoints.Checkpoint(root / checkpoints.checkpoint_name(self.step), self.step)
        committed = checkpoints.commit_checkpoint(
            root, self.step, lambda folder: checkpoint_state.write_state(folder, parts, progress, rank_rngs)
        )
        checkpoints.prune_checkpoints(root, self.config.keep_checkpoints)
        self.metrics.write("checkpoint", step=self.step, path=str(committed.path))
        return committed

    def _resume(self) -> set[str]:
        """Load the newest complete checkpoint, if any; returns the patch ids it had applied."""

        def skipped(checkpoint: checkpoints.Checkpoint, reason: str) -> None:
            self.metrics.write(
                "checkpoint_skipped", step=checkpoint.step, path=str(checkpoint.path), reason=reason
            )

        found = checkpoints.newest_complete(self.run_dir.checkpoints, on_skip=skipped)
        if found is None:
            return set()
        progress = checkpoint_state.restore_state(
            found.path, self._parts(), self.ranks.rank, self.ranks.world
        )
        self.step = progress.step
        # A micro-batch index counts global batches: convert when the number of processes changed.
        self.micro_batches_done = progress.micro_batches_done * progress.world_size // self.ranks.world
        self.live.update(progress.live)
        self.divergence.min_loss = progress.min_loss
        self.divergence.above_min_streak = progress.above_min_streak
        self.divergence.first_loss = progress.first_loss
        self.last_loss = progress.last_loss
        # A relaunch may resume another attempt's checkpoint with new settings: they win.
        changes = checkpoint_state.changed_settings(progress.config, self.config)
        if changes:
            self.apply_patch(ControlPatch(patch_id=f"spec-{self.step}", **changes))
        self.metrics.write("resumed", step=self.step, path=str(found.path))
        return set(progress.applied_patches)
