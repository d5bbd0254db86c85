"""openlora.ui_core: what every front (the TUI, the web page, the CLI) calls, written once, with no UI.

Starting a supervised run as its own ``openlora-agent run`` process (``supervised_runs``), following a
run folder by reading only what is new (``tail``, ``run_watch``), answering approvals through the
folder (``openlora.agent.approval_desk``), previewing data and the playground. It imports no UI
toolkit; the import contracts in pyproject.toml enforce it.
"""
