"""``openlora-agent chat-model``: a terminal chatbot over a GGUF (optionally with a LoRA GGUF).

Streams tokens as llama.cpp produces them, renders the conversation with the model's own chat
template (stored in the GGUF; OpenLoRA's plain "### User / ### Assistant" layout when it has
none), keeps the whole conversation (dropping the oldest turns when the context fills), and ends
cleanly on Ctrl-D.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from openlora.trainer.export.publish import read_manifest

Messages = list[dict[str, str]]
PLAIN_STOP = ["### User:"]


class ChatModelError(RuntimeError):
    """No model to chat with; the message says what to export or pass."""


def resolve_run_models(run_dir: Path) -> tuple[Path, Path | None]:
    """The GGUF (and LoRA GGUF) a run exported, preferring the merged q8_0 model."""
    exports = run_dir / "exports"
    formats = read_manifest(exports).get("formats", {})
    if "gguf" in formats:
        folder = exports / formats["gguf"]["path"]
        preferred = [folder / "model-q8_0.gguf", folder / "model-f16.gguf", *sorted(folder.glob("*.gguf"))]
        return next(p for p in preferred if p.is_file()), None
    if "gguf-adapter" in formats:
        entry = formats["gguf-adapter"]
        folder = exports / entry["path"]
        base = Path(entry["base_gguf"])
        return (base if base.is_absolute() else folder / base), folder / "adapter.gguf"
    raise ChatModelError(
        f"{run_dir}: no GGUF export yet; run `openlora-agent export {run_dir} --format gguf` first"
    )


def make_formatter(llm: Any) -> Callable[[Messages], tuple[str, list[str]]]:
    """Prompt renderer from the GGUF's chat template, sandboxed; the plain layout otherwise."""
    template = llm.metadata.get("tokenizer.chat_template")
    if template:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
        bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
        formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

        def render(messages: Messages) -> tuple[str, list[str]]:
            response = formatter(messages=messages)
            stops = (
                response.stop if isinstance(response.stop, list) else [response.stop] if response.stop else []
            )
            return response.prompt, [*stops, eos]

        return render

    def render_plain(messages: Messages) -> tuple[str, list[str]]:
        parts = [f"### {m['role'].capitalize()}:\n{m['content']}\n\n" for m in messages]
        return "".join(parts) + "### Assistant:\n", PLAIN_STOP

    return render_plain


def chat_loop(
    llm: Any,
    stdin: TextIO,
    stdout: TextIO,
    max_tokens: int = 256,
    temperature: float = 0.7,
    system: str | None = None,
    show_prompts: bool = False,
) -> int:
    """Read user lines until EOF, stream each answer; returns the number of turns."""
    render = make_formatter(llm)
    history: Messages = [{"role": "system", "content": system}] if system else []
    turns = 0
    while True:
        if show_prompts:
            stdout.write("you> ")
            stdout.flush()
        line = stdin.readline()
        if not line:  # Ctrl-D / end of input
            if show_prompts:
                stdout.write("\n")
            return turns
        if not line.strip():
            continue
        history.append({"role": "user", "content": line.rstrip("\n")})
        prompt, stops = _fit_context(llm, render, history, max_tokens)
        if show_prompts:
            stdout.write("model> ")
        pieces = []
        for chunk in llm.create_completion(
            prompt, max_tokens=max_tokens, temperature=temperature, stop=stops, stream=True
        ):
            text = chunk["choices"][0]["text"]
            pieces.append(text)
            stdout.write(text)
            stdout.flush()
        stdout.write("\n")
        stdout.flush()
        history.append({"role": "assistant", "content": "".join(pieces).strip()})
        turns += 1


def _fit_context(
    llm: Any, render: Callable[[Messages], tuple[str, list[str]]], history: Messages, max_tokens: int
) -> tuple[str, list[str]]:
    """Drop the oldest exchanges until prompt + answer fit in the context window."""
    while True:
        prompt, stops = render(history)
        if len(llm.tokenize(prompt.encode("utf-8"), special=True)) + max_tokens <= llm.n_ctx():
            return prompt, stops
        first = 1 if history and history[0]["role"] == "system" else 0
        if len(history) - first <= 1:
            return prompt, stops  # a single message longer than the context: let llama.cpp truncate
        del history[first : first + 2]


def run_chat(model: Path, lora: Path | None, max_tokens: int, temperature: float, system: str | None) -> int:
    from openlora.trainer.export.gguf_check import open_llama

    for path in (model, lora):
        if path is not None and not path.is_file():
            raise ChatModelError(f"{path}: no such GGUF file")
    llm = open_llama(model, lora, n_ctx=2048)
    try:
        interactive = sys.stdin.isatty()
        if interactive:
            sys.stdout.write(
                f"chatting with {model.name}{f' + {lora.name}' if lora else ''} — Ctrl-D to quit\n"
            )
        chat_loop(llm, sys.stdin, sys.stdout, max_tokens, temperature, system, show_prompts=interactive)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 130
    finally:
        llm.close()
    return 0
