"""``relaunch_from_checkpoint``: the next attempt with a settings fix applied (the data fixes are in
``relaunch_on_data``).

A checkpoint is *good* when its step's loss was within 10 % of the attempt's best loss and came
before the loss went bad; otherwise the new attempt starts from scratch. The checkpoint is copied
into the new attempt, whose trainer adopts the new learning rate and clipping on resume. Every
setting is bounded by the trainer's own config model (see ``tools.settings``), and the resulting
config is validated whole before anything is written.
"""

import math
import shutil
from typing import Annotated, Any

from openlora.memory.records import Action
from openlora.tools.context import RunContext, ToolContext, ToolError
from openlora.tools.launch_run import launch_run
from openlora.tools.settings import (
    AdamBeta1,
    AdamBeta2,
    AttemptNumber,
    BatchSize,
    DivergeFactor,
    DivergePatience,
    Epochs,
    EvalBatches,
    EvalEvery,
    GradAccum,
    GradientCheckpointing,
    LearningRate,
    LogEvery,
    LoraAlpha,
    LoraDropout,
    MaxGradNorm,
    MaxSeqLen,
    MaxSteps,
    NumThreads,
    Packing,
    SaveEvery,
    Supervised,
    ValFraction,
    WarmupSteps,
    WeightDecay,
)
from openlora.trainer import checkpoints
from openlora.trainer.config import TrainConfig
from openlora.trainer.rundir import RunDir, loss_trace, read_json

GOOD_LOSS_MARGIN = 1.10
# Arguments that are not training settings, and flags that reset settings to their defaults.
NOT_SETTINGS = {"ctx", "from_attempt", "fix", "use_checkpoint", "pairs"}
RESETS = {
    "clear_column_mapping": ("prompt_column", "response_column", "text_column"),
    "default_target_modules": ("target_modules",),
}


def settings_changes(arguments: dict[str, Any]) -> dict[str, Any]:
    """The training settings a relaunch (or live patch) call's arguments change: unset (None)
    arguments keep their value, a true reset flag sets its settings back to ``None``."""
    changes: dict[str, Any] = {}
    for key, value in arguments.items():
        if key in RESETS:
            if value:
                changes.update(dict.fromkeys(RESETS[key]))
        elif key not in NOT_SETTINGS and value is not None:
            changes[key] = value
    return changes


def good_checkpoint(ctx: ToolContext, attempt: int) -> checkpoints.Checkpoint | None:
    rd = RunDir(ctx.existing_attempt(attempt))
    trace = loss_trace(rd.metrics)
    finite = {s: v for s, v in trace.items() if math.isfinite(v)}
    if not finite:
        return None
    best = min(finite.values())
    for checkpoint in reversed(checkpoints.list_checkpoints(rd.checkpoints)):
        loss = finite.get(checkpoint.step)
        if (
            loss is not None
            and loss <= best * GOOD_LOSS_MARGIN
            and checkpoints.verify_checkpoint(checkpoint.path) is None
        ):
            return checkpoint
    return None


def relaunch_from_checkpoint(
    ctx: RunContext,
    from_attempt: AttemptNumber,
    fix: Action,
    learning_rate: LearningRate = None,
    warmup_steps: WarmupSteps = None,
    max_grad_norm: MaxGradNorm = None,
    batch_size: BatchSize = None,
    grad_accum: GradAccum = None,
    max_seq_len: MaxSeqLen = None,
    gradient_checkpointing: GradientCheckpointing = None,
    max_steps: MaxSteps = None,
    epochs: Epochs = None,
    lora_alpha: LoraAlpha = None,
    lora_dropout: LoraDropout = None,
    weight_decay: WeightDecay = None,
    adam_beta1: AdamBeta1 = None,
    adam_beta2: AdamBeta2 = None,
    packing: Packing = None,
    val_fraction: ValFraction = None,
    eval_every: EvalEvery = None,
    eval_batches: EvalBatches = None,
    save_every: SaveEvery = None,
    log_every: LogEvery = None,
    diverge_factor: DivergeFactor = None,
    diverge_patience: DivergePatience = None,
    num_threads: NumThreads = None,
    clear_column_mapping: bool = False,
    default_target_modules: bool = False,
    use_checkpoint: Annotated[bool, Supervised] = True,
) -> dict[str, Any]:
    """Start the next attempt with the previous settings changed by one fix.

    Unset settings keep their value. clear_column_mapping forgets the configured column names (the
    reader detects them); default_target_modules uses the model family's LoRA targets.
    """
    changes = settings_changes(dict(locals()))  # the parameters are the settings (less NOT_SETTINGS)
    return start_next_attempt(ctx, from_attempt, changes, use_checkpoint) | {"fix": fix.value}


def start_next_attempt(
    ctx: ToolContext, from_attempt: int, changes: dict[str, Any], use_checkpoint: bool
) -> dict[str, Any]:
    """Attempt ``from_attempt + 1`` with ``changes`` applied (validated) to the previous config."""
    previous = read_json(RunDir(ctx.existing_attempt(from_attempt)).spec)
    try:
        config = TrainConfig.model_validate({**previous, **changes}).model_dump()
    except Exception as exc:
        raise ToolError(f"relaunch: {exc}") from None
    new_dir = ctx.attempt_dir(from_attempt + 1)
    source = good_checkpoint(ctx, from_attempt) if use_checkpoint else None
    if source is not None and not (RunDir(new_dir).checkpoints / source.path.name).exists():
        target = RunDir(new_dir).checkpoints / source.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source.path, target.with_name(f".copy-{source.path.name}"), dirs_exist_ok=True)
        target.with_name(f".copy-{source.path.name}").rename(target)
    launched = launch_run(ctx, from_attempt + 1, config)
    return launched | {
        "from_checkpoint": str(source.path) if source else None,
        "changes": changes,
        "config": config,
    }
