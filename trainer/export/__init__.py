"""Turning a trained run into files people run: PEFT adapter, .pt, merged HF folder, GGUF files.

Each format is built in a staging folder, checked, and only then published (see ``publish``); the
GGUF formats check themselves against the transformers model in llama.cpp (see ``gguf_check``).
"""
