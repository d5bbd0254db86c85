"""openlora.web: the self-hosted web page (Gradio), a front on ``openlora.ui_core`` like the TUI."""
