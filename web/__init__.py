"""openlora.web: the self-hosted web page (Gradio), a front on ``openlora.ui_core`` like the TUI.

``server`` checks the address and token and launches ``app``, which lays out one tab per module
(``data_tab``, ``train_tab``, ``monitor_tab``, ``history_tab``, ``playground_tab``, ``exports_tab``).
Importing the package turns Gradio's usage analytics off before Gradio is imported: the page never
calls out of the machine.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
