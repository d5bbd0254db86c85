"""openlora.ui_core: what every front (the TUI, the web page, the CLI) calls, written once, with no UI.

Starting a supervised run as its own ``openlora-agent run`` process (``supervised_runs``), following a
run folder by reading only what is new (``tail``, ``run_watch``) and what a monitor draws of it
(``monitor_view``), the runs under a folder (``run_list``), a proposal in words and the verdict a
front's buttons make (``approvals``; answered through the folder by ``openlora.agent.approval_desk``),
previewing data and its findings (``data_preview``, ``data_head``, ``data_findings``), storing uploads
(``uploads``), the goal schema as form fields (``goal_fields``), a request in words as a draft
(``requests``), exports, history rows, untrusted text (``text``) and the lazily built core objects
(``services``: advisor, registry, memory, playground). It imports no UI toolkit; the import
contracts in pyproject.toml enforce it.
"""
