"""Widgets of the OpenLoRA TUI."""
