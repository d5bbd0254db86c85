"""The pre-flight check: every training setting judged against this data and model before attempt 1.

Each quantity below is a function of :class:`~openlora.agent.evidence.Facts` returning one
:class:`~openlora.agent.evidence.Check` (or ``None`` where it does not apply, e.g. evaluation figures
when there is no validation data). :data:`UNJUDGED` names every config key no quantity judges, and
why; a test keeps the two lists covering every key of the trainer's config. :func:`correct` applies
the fixes of out-of-range checks whose keys the goal lets the supervisor plan, and reports the rest
as warnings (the person pinned them). Ranges and sources: ``agent/EVIDENCE.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from openlora.agent.evidence import (
    Check,
    Facts,
    judge,
)
from openlora.trainer.config import TrainConfig

LR_RANGE = (0.1, 10.0)  # × the size prior
LORA_SCALE_RANGE = (0.25, 8.0)  # lora_alpha / lora_r
MAX_DROPPED_SHARE = 0.05
MIN_FILL = 0.25  # real tokens per sequence without packing
MIN_BATCHES_PER_EPOCH = 4
MIN_STEPS = 20
MAX_PASSES = 10.0
MAX_WARMUP_SHARE = 0.3
MAX_DECAYED_SHARE = 0.5  # of the adapter's weights, decayed away over the run
MAX_LORA_DROPOUT = 0.3
BETA1_RANGE, BETA2_RANGE = (0.8, 0.99), (0.95, 0.99999)
GRAD_NORM_RANGE = (0.1, 10.0)
MIN_VAL_ROWS = 8
MAX_VAL_OVERLAP = 0.1
MIN_EVALUATIONS = 3
MIN_EVAL_SEQUENCES = 8
MIN_LOGGED_POINTS = 16
DIVERGE_FACTOR_RANGE = (1.5, 20.0)
MIN_GUARDED_STEPS = 8


def parameter_count(params: float) -> str:
    """A model size as people write it: 135M, 1.2B, 92K (two significant figures below ten)."""
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if params >= scale:
            value = params / scale
            return f"{value:.2g}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return f"{params:.0f}"


def lr_vs_prior(f: Facts) -> Check:
    ratio = f.config.learning_rate / f.prior_lr
    return judge(
        "lr_vs_prior",
        ["learning_rate"],
        ratio,
        f"learning_rate {f.config.learning_rate:g} is {ratio:.3g}× the prior {f.prior_lr:g} for a "
        f"~{parameter_count(f.params)}-parameter model",
        *LR_RANGE,
        fix_low={"learning_rate": f.prior_lr},
        fix_high={"learning_rate": f.prior_lr},
        times=True,
    )


def lora_scale(f: Facts) -> Check:
    cfg = f.config
    scale = cfg.lora_alpha / cfg.lora_r
    return judge(
        "lora_scale",
        ["lora_alpha", "lora_r"],
        scale,
        f"LoRA scale lora_alpha/lora_r = {cfg.lora_alpha:g}/{cfg.lora_r} = {scale:.3g}",
        *LORA_SCALE_RANGE,
        fix_low={"lora_alpha": 2.0 * cfg.lora_r},
        fix_high={"lora_alpha": 2.0 * cfg.lora_r},
    )


def lora_dropout(f: Facts) -> Check:
    value = f.config.lora_dropout
    return judge(
        "lora_dropout",
        ["lora_dropout"],
        value,
        f"lora_dropout {value:g} drops that share of each LoRA input",
        high=MAX_LORA_DROPOUT,
        fix_high={"lora_dropout": 0.05},
        share=True,
    )


def dropped_share(f: Facts) -> Check:
    """Pairs longer than max_seq_len are dropped whole by the trainer (plain text is chunked)."""
    seq = f.config.max_seq_len
    share = f.data.dropped_at(seq)
    longest = f.data.longest_bytes
    return judge(
        "dropped_share",
        ["max_seq_len"],
        share,
        f"about {share:.0%} of the examples are longer than max_seq_len {seq} tokens (longest: {longest} "
        "bytes) and would be dropped",
        high=MAX_DROPPED_SHARE,
        fix_high={"max_seq_len": max(f.data.whole_example_seq_len, seq * 2)},
        share=True,
    )


def sequence_fill(f: Facts) -> Check | None:
    if f.config.packing:
        return None
    fill = min(1.0, f.tokens_per_example / f.config.max_seq_len)
    return judge(
        "sequence_fill",
        ["packing", "max_seq_len"],
        fill,
        f"without packing each {f.config.max_seq_len}-token sequence holds one example of ~"
        f"{f.tokens_per_example:.0f} tokens: {fill:.0%} real tokens, the rest padding",
        low=MIN_FILL,
        fix_low={"packing": True},
        share=True,
    )


def _with(f: Facts, **settings: Any) -> Facts:
    return dataclasses.replace(f, config=f.config.model_copy(update=settings))


def _minibatches(f: Facts, wanted: int) -> dict[str, Any]:
    """The least change that gives ``wanted`` batches per epoch: shorter sequences (never shorter than
    the longest example needs), then also a smaller batch."""
    shortest = f.data.whole_example_seq_len
    seq = f.config.max_seq_len // 2
    while f.config.packing and seq >= shortest:
        if _with(f, max_seq_len=seq).batches_per_epoch >= wanted:
            return {"max_seq_len": seq}
        seq //= 2
    settings: dict[str, Any] = {"max_seq_len": shortest} if shortest < f.config.max_seq_len else {}
    batch = f.config.batch_size
    while batch > 1:
        batch //= 2
        if _with(f, **settings, batch_size=batch).batches_per_epoch >= wanted:
            break
    return settings | {"batch_size": batch} if batch < f.config.batch_size else settings


def batches_per_epoch(f: Facts) -> Check:
    """With packing, sequences far longer than the examples pack a small dataset into a handful of
    sequences: every step then sees all of it, and an epoch is one step."""
    cfg, count = f.config, f.batches_per_epoch
    most = _with(
        f, max_seq_len=min(cfg.max_seq_len, f.data.whole_example_seq_len), batch_size=1
    ).batches_per_epoch
    wanted = min(MIN_BATCHES_PER_EPOCH, math.ceil(f.train_rows / cfg.batch_size), most)
    return judge(
        "batches_per_epoch",
        ["max_seq_len", "batch_size"],
        count,
        f"{f.train_rows} training rows pack into {f.sequences(f.train_rows)} sequences of {cfg.max_seq_len} "
        f"tokens: {count} batch(es) of {cfg.batch_size} per epoch",
        low=wanted,
        fix_low=_minibatches(f, wanted) if count < wanted else {},
    )


def optimizer_steps(f: Facts) -> Check:
    steps = f.steps
    enough = min(MIN_STEPS, max(1, f.steps_for_passes(MAX_PASSES)))
    return judge(
        "optimizer_steps",
        ["max_steps", "epochs", "batch_size", "grad_accum"],
        steps,
        f"the run makes {steps} optimizer steps ({f.passes:.2g} passes over {f.train_rows} training rows)",
        low=min(MIN_STEPS, enough),
        fix_low={"max_steps": enough},
    )


def passes(f: Facts) -> Check:
    value = f.passes
    return judge(
        "passes",
        ["max_steps", "epochs"],
        value,
        f"{f.steps} steps of {f.config.batch_size}×{f.config.grad_accum} sequences make {value:.3g} passes "
        f"over the {f.train_rows} training rows",
        high=MAX_PASSES,
        fix_high={"max_steps": max(f.steps_for_passes(3.0), min(MIN_STEPS, f.steps_for_passes(MAX_PASSES)))},
    )


def warmup_share(f: Facts) -> Check:
    share = f.config.warmup_steps / f.steps
    return judge(
        "warmup_share",
        ["warmup_steps"],
        share,
        f"warmup_steps {f.config.warmup_steps} is {share:.0%} of the run's {f.steps} steps",
        high=MAX_WARMUP_SHARE,
        fix_high={"warmup_steps": round(0.05 * f.steps)},
        share=True,
    )


def weight_decay(f: Facts) -> Check:
    """AdamW's decoupled decay multiplies the weights by (1 - lr * weight_decay) every step: the share
    of the adapter it removes over the run (at the peak lr, an upper bound) is what harms learning."""
    cfg = f.config
    per_step = min(1.0, cfg.learning_rate * cfg.weight_decay)
    removed = 1.0 - (1.0 - per_step) ** f.steps
    return judge(
        "weight_decay",
        ["weight_decay"],
        removed,
        f"weight_decay {cfg.weight_decay:g} at lr {cfg.learning_rate:g} over {f.steps} steps decays away "
        f"up to {removed:.0%} of the adapter's weights",
        high=MAX_DECAYED_SHARE,
        fix_high={"weight_decay": 0.0},
        share=True,
    )


def _adam_beta(key: str, value: float, averages: str, healthy: tuple[float, float], default: float) -> Check:
    """An Adam decay rate judged by the number of steps it averages over (about 1 / (1 - beta))."""
    return judge(
        key,
        [key],
        value,
        f"{key} {value:g}: {averages} over ~{1 / max(1e-9, 1 - value):.0f} steps",
        *healthy,
        fix_low={key: default},
        fix_high={key: default},
    )


def adam_beta1(f: Facts) -> Check:
    return _adam_beta("adam_beta1", f.config.adam_beta1, "gradient momentum", BETA1_RANGE, 0.9)


def adam_beta2(f: Facts) -> Check:
    return _adam_beta("adam_beta2", f.config.adam_beta2, "gradient scale averaged", BETA2_RANGE, 0.999)


def grad_clipping(f: Facts) -> Check:
    norm = f.config.max_grad_norm
    value = math.inf if norm == 0 else norm
    words = "gradient clipping is off (max_grad_norm 0)" if norm == 0 else f"gradients clipped at {norm:g}"
    return judge(
        "grad_clipping",
        ["max_grad_norm"],
        value,
        words,
        *GRAD_NORM_RANGE,
        fix_low={"max_grad_norm": 1.0},
        fix_high={"max_grad_norm": 1.0},
    )


def validation_rows(f: Facts) -> Check | None:
    if not f.needs_validation:
        return None
    rows = f.val_rows
    source = "the validation file" if f.config.val_dataset else f"val_fraction {f.config.val_fraction:g}"
    wanted = min(0.5, max(0.1, MIN_VAL_ROWS / max(1, f.data.rows)))
    return judge(
        "validation_rows",
        ["val_fraction", "val_dataset"],
        rows,
        f"{source} gives {rows} validation rows to measure the goal's val_loss target",
        low=min(MIN_VAL_ROWS, max(1, f.data.rows // 2)),  # a tiny file cannot give more
        fix_low={} if f.config.val_dataset else {"val_fraction": round(wanted, 3)},
    )


def validation_overlap(f: Facts) -> Check | None:
    rows = f.data.val_file_rows
    if not f.config.val_dataset or not rows:
        return None
    share = f.data.val_overlap / rows
    return judge(
        "validation_overlap",
        ["val_dataset"],
        share,
        f"{f.data.val_overlap} of the {rows} validation rows are also training rows",
        high=MAX_VAL_OVERLAP,
        share=True,
    )


def evaluations(f: Facts) -> Check | None:
    if f.val_rows == 0:
        return None
    count = f.steps // f.config.eval_every
    return judge(
        "evaluations",
        ["eval_every"],
        count,
        f"eval_every {f.config.eval_every} gives {count} validation evaluation(s) in {f.steps} steps",
        low=min(MIN_EVALUATIONS, f.steps),
        fix_low={"eval_every": max(1, f.steps // 5)},
    )


def eval_sequences(f: Facts) -> Check | None:
    available = f.sequences(f.val_rows)
    if available == 0:
        return None
    seen = min(available, f.config.eval_batches * f.config.batch_size)
    wanted = min(available, MIN_EVAL_SEQUENCES)
    return judge(
        "eval_sequences",
        ["eval_batches"],
        seen,
        f"eval_batches {f.config.eval_batches} × batch {f.config.batch_size} evaluates {seen} of "
        f"{available} validation sequences",
        low=wanted,
        fix_low={"eval_batches": math.ceil(wanted / f.config.batch_size)},
    )


def checkpoints(f: Facts) -> Check:
    count = f.steps // f.config.save_every
    return judge(
        "checkpoints",
        ["save_every"],
        count,
        f"save_every {f.config.save_every} commits {count} checkpoints in {f.steps} steps (a relaunch "
        "continues from one)",
        low=1,
        fix_low={"save_every": max(1, f.steps // 4)},
    )


def logged_points(f: Facts) -> Check:
    count = f.steps // f.config.log_every
    wanted = min(MIN_LOGGED_POINTS, f.steps)
    return judge(
        "logged_points",
        ["log_every"],
        count,
        f"log_every {f.config.log_every} writes {count} loss points (the detectors read the curve)",
        low=wanted,
        fix_low={"log_every": max(1, f.steps // MIN_LOGGED_POINTS)},
    )


def divergence_guard(f: Facts) -> Check:
    cfg = f.config
    return judge(
        "divergence_guard",
        ["diverge_factor", "diverge_patience"],
        cfg.diverge_factor,
        f"a loss above {cfg.diverge_factor:g}× its running minimum for {cfg.diverge_patience} steps ends "
        "the run as diverged",
        *DIVERGE_FACTOR_RANGE,
        fix_low={"diverge_factor": 4.0},
        fix_high={"diverge_factor": 4.0},
    )


def divergence_patience(f: Facts) -> Check | None:
    if f.steps < MIN_GUARDED_STEPS:
        return None  # a run this short ends before any patience could matter
    patience = f.config.diverge_patience
    return judge(
        "divergence_patience",
        ["diverge_patience"],
        patience / f.steps,
        f"diverge_patience {patience} is {patience / f.steps:.0%} of the run's {f.steps} steps",
        high=0.5,
        fix_high={"diverge_patience": max(2, f.steps // 8)},
        share=True,
    )


def threads(f: Facts) -> Check | None:
    if f.config.num_threads is None:
        return None
    return judge(
        "threads",
        ["num_threads"],
        f.config.num_threads / f.cores,
        f"num_threads {f.config.num_threads} on {f.cores} CPU cores",
        high=1.0,
        fix_high={"num_threads": f.cores},
        times=True,
    )


QUANTITIES: list[Callable[[Facts], Check | None]] = [
    lr_vs_prior,
    lora_scale,
    lora_dropout,
    dropped_share,
    sequence_fill,
    validation_rows,  # the validation share decides the training rows the step figures use
    validation_overlap,
    batches_per_epoch,
    optimizer_steps,
    passes,
    warmup_share,
    weight_decay,
    adam_beta1,
    adam_beta2,
    grad_clipping,
    evaluations,
    eval_sequences,
    checkpoints,
    logged_points,
    divergence_guard,
    divergence_patience,
    threads,
]

UNJUDGED: dict[str, str] = {
    "name": "a label for the run folder",
    "base_model": "which model to tune is the person's choice; the planner reads its size for the priors",
    "gguf_file": "a file name inside base_model, checked when the model loads",
    "revision": "which hub revision to pin is the person's choice; checked by the Hub when downloading",
    "offline": "whether to reach the network is the person's choice; an absent model is an error finding",
    "dataset": "judged by the data gate (inspect_dataset), not by a range",
    "dataset_split": "which split of a hub dataset is the person's choice; an absent split is an error",
    "dataset_revision": "which dataset revision to pin is the person's choice; checked by the Hub",
    "dataset_max_rows": "how many rows to take is the person's choice; the data gate judges what they hold",
    "val_dataset_split": "which split validates is the person's choice; an absent split is an error",
    "prompt_column": "checked by the data reader; a missing column becomes a data_error finding",
    "response_column": "checked by the data reader; a missing column becomes a data_error finding",
    "text_column": "checked by the data reader; a missing column becomes a data_error finding",
    "lr_scheduler": "cosine, linear and constant all train; no range separates a good choice here",
    "batch_size": "no range: its memory is measured, not estimated (the memory probe before attempt 1 "
    "when the goal leaves it unpinned, an out-of-memory status live); its effect on steps is judged by "
    "batches_per_epoch, optimizer_steps and passes",
    "grad_accum": "its effect on steps is judged by optimizer_steps and passes",
    "gradient_checkpointing": "a memory/speed trade judged live by the out-of-memory finding",
    "packed_attention": "how packed examples attend: the same numbers either way, per example is less work",
    "memory_limit_gb": "judged live: an out-of-memory status is the evidence",
    "seed": "any seed is as good as another",
    "lora_r": "judged through lora_scale; rank alone has no range that fits every model and task",
    "target_modules": "checked by the trainer against the architecture (an error finding)",
    "precision": "checked by the config model and the trainer's device probe",
    "device": "checked by the config model and the trainer's device probe",
    "load_in_4bit": "checked by the config model (needs CUDA)",
    "keep_checkpoints": "costs disk only",
    "launcher": "how many processes train is the person's choice; steps and passes count its global batch",
    "outputs": "export formats, checked when the run completes",
    "gguf_types": "export precisions, checked when the run completes",
}


def run_checks(facts: Facts) -> list[Check]:
    """Every applicable quantity, in the order of :data:`QUANTITIES`."""
    return [check for quantity in QUANTITIES if (check := quantity(facts)) is not None]


def correct(
    config: dict[str, Any], facts_of: Callable[[dict[str, Any]], Facts], held: dict[str, str]
) -> tuple[dict[str, Any], list[Check], list[str]]:
    """Judge every quantity in order on the config as corrected so far, and apply an out-of-range
    check's fix unless one of its keys is ``held`` (key → who holds it: "the goal" when the person
    pinned it, "memory" when a remembered fix set it); a held check is reported as a warning.

    Returns the corrected config, the checks as first judged, and one note per out-of-range check.
    The order of :data:`QUANTITIES` matters: the step count is settled before the figures that
    depend on it (warmup share, evaluations, checkpoints).
    """
    corrected, checks, notes = dict(config), [], []
    for quantity in QUANTITIES:
        check = quantity(facts_of(corrected))
        if check is None:
            continue
        checks.append(check)
        if not check.out_of_range:
            continue
        keys = set(check.keys) | set(check.fix)
        holders = sorted(f"{key} set by {held[key]}" for key in keys if key in held)
        if holders or not check.fix:
            why = "; ".join(holders) or "nothing the supervisor may change"
            notes.append(f"pre-flight warning: {check.text()} — kept ({why})")
            continue
        try:
            TrainConfig.model_validate({**corrected, **check.fix})
        except ValidationError as exc:
            notes.append(f"pre-flight warning: {check.text()} — the fix is refused: {exc.errors()[0]['msg']}")
            continue
        corrected.update(check.fix)
        changes = ", ".join(f"{k} {corrected[k]}" for k in check.fix)
        notes.append(f"pre-flight: {check.meaning} (healthy {check.healthy()}): set {changes}")
    return corrected, checks, notes
