"""The advisor: a local llama.cpp model whose every answer is constrained to a JSON schema.

:class:`Advisor` loads the GGUF once per process (the embedded SmolLM2 by default, or any instruct
GGUF a goal names) and returns schema-shaped JSON. :class:`AdvisorChatModel` wraps it as a
langchain-core chat model: with tools bound, its tool choice *and* the tool's arguments are produced
by constrained decoding against the tools' JSON schemas, so LangGraph's prebuilt pieces fit and any
other chat model can be swapped in. Python validates every answer again (see ``decision``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, PrivateAttr

from openlora.trainer.config import EMBEDDED_BASE

_cache: dict[tuple[str, int], Any] = {}
_cache_lock = threading.Lock()


def advisor_threads() -> int:
    """CPU threads for llama.cpp: ``OPENLORA_ADVISOR_THREADS``, else 2 (or fewer cores).

    llama.cpp's threads spin while they wait, so several advisors on a small machine (the BrokenLoRA
    benchmark runs two supervisors at once) must share the cores instead of each taking two.
    """
    import os

    value = os.environ.get("OPENLORA_ADVISOR_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(2, os.cpu_count() or 1))


def advisor_model_path(model: str) -> Path:
    if model == EMBEDDED_BASE:
        from openlora.trainer.models import embedded_gguf_path

        return embedded_gguf_path()
    return Path(model)


class Advisor:
    """Constrained JSON decisions from a local GGUF model (loaded once per process)."""

    def __init__(
        self,
        model: str = EMBEDDED_BASE,
        n_ctx: int = 2048,
        temperature: float = 0.0,
        max_tokens: int = 160,
        seed: int = 0,
    ) -> None:
        self.path = advisor_model_path(model)
        self.n_ctx, self.temperature, self.max_tokens, self.seed = n_ctx, temperature, max_tokens, seed
        self.latencies: list[float] = []

    @property
    def llm(self) -> Any:
        key = (str(self.path), self.n_ctx)
        with _cache_lock:
            if key not in _cache:
                from llama_cpp import Llama

                from openlora.trainer.export.gguf_check import quiet_stderr

                with quiet_stderr():
                    _cache[key] = Llama(
                        model_path=str(self.path),
                        n_ctx=self.n_ctx,
                        n_threads=advisor_threads(),
                        seed=self.seed,
                        verbose=False,
                    )
            return _cache[key]

    def complete_json(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        """The model's answer, constrained by ``schema`` (a JSON string; may still break bounds)."""
        began = time.perf_counter()
        llm = self.llm
        out = llm.create_chat_completion(
            messages=messages,
            response_format={"type": "json_object", "schema": schema},
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
        )
        self.latencies.append(time.perf_counter() - began)
        return out["choices"][0]["message"]["content"] or ""


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class AdvisorChatModel(BaseChatModel):
    """langchain-core chat model over :class:`Advisor`; tool calls come from constrained decoding."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    advisor: Any
    _last_raw: str = PrivateAttr(default="")

    @property
    def _llm_type(self) -> str:
        return "openlora-llama-cpp-advisor"

    def bind_tools(self, tools: list[Any], **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = [{"role": _role(m), "content": str(m.content)} for m in messages]
        tools = kwargs.get("tools") or []
        if not tools:
            raw = self.advisor.complete_json(
                chat, {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
            )
            self._last_raw = raw
            return ChatResult(
                generations=[ChatGeneration(message=AIMessage(content=json.loads(raw)["answer"]))]
            )
        options = [
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "enum": [tool["function"]["name"]]},
                    "arguments": tool["function"]["parameters"],
                },
                "required": ["name", "arguments"],
            }
            for tool in tools
        ]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        raw = self.advisor.complete_json(chat, schema)
        self._last_raw = raw
        try:
            call = json.loads(raw)
            tool_calls = [
                {
                    "name": call["name"],
                    "args": call["arguments"],
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "tool_call",
                }
            ]
            message = AIMessage(content="", tool_calls=tool_calls)
        except (ValueError, KeyError, TypeError):
            message = AIMessage(
                content=raw,
                invalid_tool_calls=[
                    {
                        "name": None,
                        "args": raw,
                        "id": None,
                        "error": "not valid JSON",
                        "type": "invalid_tool_call",
                    }
                ],
            )
        return ChatResult(generations=[ChatGeneration(message=message)])
