"""The Playground tab: chat with a finished run's adapter, the base model answering beside it.

What it is for: pick a trained attempt (``ui_core.run_list.trained_attempts``), type a prompt, and
watch both answers stream in (``evaluation.playground.Playground.stream``: greedy, the run's chat
template; the adapter's answer first, then the base model's). The engine is loaded once per attempt
and shared (``ui_core.services``); one generation runs at a time. Answers are model output: they are
escaped before the chat component renders them (``web.text.chat_html``).
What it is not for: scoring (``openlora-agent eval``) or exported GGUF models (``chat-model``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from openlora.ui_core.run_list import list_runs, trained_attempts
from openlora.ui_core.services import Services
from openlora.ui_core.uploads import inside
from openlora.web.settings import WebSettings
from openlora.web.text import chat_html, plain

MAX_PROMPT_CHARS = 2000


@dataclass
class PlaygroundTab:
    attempt: gr.Dropdown
    refresh: gr.Button


def attempt_choices(settings: WebSettings) -> list[tuple[str, str]]:
    """Trained attempts of finished runs, newest run first."""
    choices = []
    for entry in list_runs(settings.runs):
        if entry.state == "finished":
            for folder in trained_attempts(entry.root):
                choices.append((f"{entry.root.name} / {folder.name}", str(folder)))
    return choices


def _turn(history: list[dict[str, Any]] | None, prompt: str) -> list[dict[str, Any]]:
    return [
        *(history or []),
        {"role": "user", "content": chat_html(prompt)},
        {"role": "assistant", "content": ""},
    ]


def chat(
    settings: WebSettings,
    services: Services,
    choice: str | None,
    prompt: str,
    adapter_chat: list[dict[str, Any]] | None,
    base_chat: list[dict[str, Any]] | None,
) -> Iterator[tuple[Any, ...]]:
    """Stream both answers to ``prompt`` into the two chats."""
    from openlora.evaluation.playground import PlaygroundError

    prompt = (prompt or "").strip()[:MAX_PROMPT_CHARS]
    if not prompt:
        yield gr.skip(), gr.skip(), "Type a prompt.", gr.skip()
        return
    if not choice or not inside(Path(choice), settings.runs):
        yield gr.skip(), gr.skip(), "Pick a trained run first.", gr.skip()
        return
    adapter, base = _turn(adapter_chat, prompt), _turn(base_chat, prompt)
    yield adapter, base, "loading the base model and the adapter…", ""
    try:
        engine = services.playground(Path(choice))
        with services.generation:
            for replies in engine.stream(prompt):
                adapter[-1]["content"], base[-1]["content"] = (
                    chat_html(replies.adapter),
                    chat_html(replies.base),
                )
                yield adapter, base, "answering…", gr.skip()
    except PlaygroundError as exc:
        yield gr.skip(), gr.skip(), plain(str(exc)), gr.skip()
        return
    turns = sum(1 for message in adapter if message["role"] == "user")
    yield adapter, base, f"answer {turns} done · {Path(choice).parent.name} / {Path(choice).name}", gr.skip()


def build(settings: WebSettings, services: Services) -> PlaygroundTab:
    with gr.Row():
        attempt = gr.Dropdown(choices=[], label="Trained run", scale=4, elem_id="play-run")
        refresh = gr.Button("Refresh the list", size="sm", scale=1)
    with gr.Row():
        adapter_chat = gr.Chatbot(label="adapter", render_markdown=False, height=320, elem_id="play-adapter")
        base_chat = gr.Chatbot(label="base model", render_markdown=False, height=320, elem_id="play-base")
    prompt = gr.Textbox(
        label="Prompt for both models", max_length=MAX_PROMPT_CHARS, submit_btn="Send", elem_id="play-prompt"
    )
    status = gr.Textbox(label="Status", interactive=False, elem_id="play-status")
    prompt.submit(
        lambda c, p, a, b: (yield from chat(settings, services, c, p, a, b)),
        [attempt, prompt, adapter_chat, base_chat],
        [adapter_chat, base_chat, status, prompt],
    )
    refresh.click(lambda: gr.update(choices=attempt_choices(settings)), None, attempt)
    return PlaygroundTab(attempt, refresh)
