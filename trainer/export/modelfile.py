"""An Ollama ``Modelfile`` beside a GGUF, carrying the chat template.

ChatML templates (SmolLM2, Qwen, …) and OpenLoRA's plain "### User / ### Assistant" layout are
written as Ollama Go templates; any other Jinja template is embedded as a comment and left for
Ollama to read from the GGUF's ``tokenizer.chat_template``.
"""

from __future__ import annotations

CHATML = '''TEMPLATE """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""
PARAMETER stop "<|im_end|>"
PARAMETER stop "<|im_start|>"'''

PLAIN = '''TEMPLATE """{{- range .Messages }}### {{ if eq .Role "user" }}User{{ else if eq .Role "assistant" }}Assistant{{ else }}System{{ end }}:
{{ .Content }}

{{ end }}### Assistant:
"""
PARAMETER stop "### User:"'''


def render_modelfile(gguf_name: str, chat_template: str | None, eos_token: str | None) -> str:
    lines = ["# Written by OpenLoRA. Run: ollama create <name> -f Modelfile", f"FROM ./{gguf_name}"]
    if chat_template and "<|im_start|>" in chat_template:
        lines.append(CHATML)
    elif not chat_template:
        lines.append(PLAIN)
    else:
        lines.append("# Chat template (Jinja, also stored in the GGUF as tokenizer.chat_template):")
        lines.extend(f"# {line}" for line in chat_template.splitlines())
    if eos_token:
        lines.append(f'PARAMETER stop "{eos_token}"')
    return "\n".join(lines) + "\n"
