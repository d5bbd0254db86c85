"""Argument types for the tools, taken from the trainer's own config model (one source of truth).

``LearningRate`` (``setting("learning_rate")``) is ``float | None`` carrying :class:`TrainConfig`'s
bounds and help text, so a tool parameter declared with it refuses exactly what the trainer would
refuse, and its JSON schema shows the same limits to the advisor. :data:`Supervised` marks a
parameter the supervisor fills (an attempt number, a patch id): it is validated like any other but
hidden from the advisor.
"""

from __future__ import annotations

from typing import Annotated

from langchain_core.tools import InjectedToolArg
from pydantic import Field

from openlora.trainer.config import optional_setting as setting

LearningRate = setting("learning_rate")
WarmupSteps = setting("warmup_steps")
MaxGradNorm = setting("max_grad_norm")
BatchSize = setting("batch_size")
GradAccum = setting("grad_accum")
MaxSeqLen = setting("max_seq_len")
MaxSteps = setting("max_steps")
GradientCheckpointing = setting("gradient_checkpointing")
EvalEvery = setting("eval_every")
SaveEvery = setting("save_every")
Epochs = setting("epochs")
LoraAlpha = setting("lora_alpha")
LoraDropout = setting("lora_dropout")
WeightDecay = setting("weight_decay")
AdamBeta1 = setting("adam_beta1")
AdamBeta2 = setting("adam_beta2")
Packing = setting("packing")
ValFraction = setting("val_fraction")
EvalBatches = setting("eval_batches")
LogEvery = setting("log_every")
DivergeFactor = setting("diverge_factor")
DivergePatience = setting("diverge_patience")
NumThreads = setting("num_threads")

# A parameter the supervisor binds (the advisor never chooses it); validated by the tool's schema.
Supervised = InjectedToolArg
AttemptNumber = Annotated[int, Field(ge=1, le=1000, description="Attempt number of this run."), Supervised]
