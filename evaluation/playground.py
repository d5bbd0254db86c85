"""The playground's engine: one prompt answered by a run's adapter and by its base model, side by side.

Loads the base model and the trained adapter once (CPU, fp32), then answers each prompt twice with
greedy decoding and the run's chat template: with the adapter, and with the adapter disabled, whole
(:meth:`Playground.reply`) or token by token as they grow (:meth:`Playground.stream`). Library
output (bars, warnings) goes to the run's ``trainer.log``. It is used by the TUI's playground screen
and the web page's Playground tab and holds no UI code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PlaygroundError(RuntimeError):
    """The run has no trained adapter to chat with; the message names the folder."""


@dataclass
class Replies:
    adapter: str
    base: str


class Playground:
    """A run's adapter next to its base model."""

    def __init__(self, attempt_dir: Path, max_new_tokens: int = 64) -> None:
        import torch
        from peft import PeftModel

        from openlora.trainer.export.exporter import ExportError, trained_adapter
        from openlora.trainer.main import load_spec
        from openlora.trainer.models import load_base_model, load_tokenizer, resolve_source
        from openlora.trainer.quiet import quiet_libraries
        from openlora.trainer.rundir import RunDir

        run_dir = RunDir(attempt_dir)
        if not run_dir.spec.is_file():
            raise PlaygroundError(f"{attempt_dir}: not a run folder (no spec.json)")
        try:
            adapter = trained_adapter(run_dir)
        except ExportError as exc:
            raise PlaygroundError(str(exc)) from None
        config = load_spec(run_dir)
        source = resolve_source(config)
        self.log = run_dir.trainer_log
        with quiet_libraries(self.log, "playground"):
            self.tokenizer = load_tokenizer(source)
            base = load_base_model(source, config, use_cuda=False, compute_dtype=torch.float32)
            self.model: Any = PeftModel.from_pretrained(base, str(adapter)).eval()
        self.max_new_tokens = max_new_tokens
        self.attempt_dir = attempt_dir

    def reply(self, prompt: str) -> Replies:
        from openlora.evaluation.engine import generate
        from openlora.trainer.quiet import quiet_libraries

        with quiet_libraries(self.log, "playground"):
            adapter = generate(self.model, self.tokenizer, [prompt], self.max_new_tokens)[0]
            with self.model.disable_adapter():
                base = generate(self.model, self.tokenizer, [prompt], self.max_new_tokens)[0]
        return Replies(adapter, base)

    def stream(self, prompt: str) -> Iterator[Replies]:
        """Both answers as they grow: the adapter's first, then the base model's beside it."""
        from openlora.evaluation.engine import stream_generate
        from openlora.trainer.quiet import quiet_libraries

        adapter = ""
        with quiet_libraries(self.log, "playground"):
            for adapter in stream_generate(self.model, self.tokenizer, prompt, self.max_new_tokens):
                yield Replies(adapter, "")
            with self.model.disable_adapter():
                for base in stream_generate(self.model, self.tokenizer, prompt, self.max_new_tokens):
                    yield Replies(adapter, base)
