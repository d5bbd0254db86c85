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

# A parameter the supervisor binds (the advisor never chooses it); validated by the tool's schema.
Supervised = InjectedToolArg
AttemptNumber = Annotated[int, Field(ge=1, le=1000, description="Attempt number of this run."), Supervised]
