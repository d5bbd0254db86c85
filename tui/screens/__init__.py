"""Screens of the OpenLoRA TUI: chat (with the live run), history, incidents, data, playground, approval."""
