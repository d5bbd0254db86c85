"""The main screen: chat with the advisor, the goal draft, and the live view of the active run.

A message becomes an intent (constrained decoding, then checked against the words), and then a
goal draft, an adjusted draft, or an answer quoted from the registry and memory. Approving the
draft starts ``openlora-agent run`` as its own process (``ui_core.start_supervised_run``): quitting
the TUI never stops it, and a TUI opened later follows a run still going. A timer refreshes the run
folder (curves, the supervisor's timeline); a proposal waiting in the folder opens the approval
dialog, answered through the folder like every front (``agent.approval_desk``); the end is read from
``report.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input

from openlora.trainer.rundir import GoalDir
from openlora.tui.messages import ChatReply, DraftReady, RunFinished, RunStarted
from openlora.tui.screens.approval import ApprovalScreen
from openlora.tui.widgets.chat_log import ChatLog
from openlora.tui.widgets.draft_editor import DraftEditor
from openlora.tui.widgets.live_run import LiveRun

WELCOME = (
    "Tell me what to tune, e.g. 'tune SmolLM on ./logs/auth.log so it summarises incidents'. "
    "Ask about runs ('why did run 3 fail?'), or adjust the draft ('try a smaller lr'). "
    "F2 history · F3 incidents · F4 data · F5 playground."
)
HELP = (
    "I can: draft a goal from 'tune … on FILE so it …' (FILE must exist: .jsonl, .json, .csv, .tsv, "
    ".parquet, .txt or .log), "
    "adjust the draft ('try a smaller lr', 'train for more steps'), and answer 'why did run N fail?' "
    "from the recorded facts."
)


class ChatScreen(Screen[None]):
    """Chat, draft and live run side by side."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="chat-column"):
                yield ChatLog(id="chat-log")
                yield Input(placeholder="Ask OpenLoRA…", id="chat-input", max_length=1000)
            with Vertical(id="work-column"):
                yield DraftEditor(id="draft")
                yield LiveRun(id="live")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ChatLog).say("openlora", WELCOME)
        self.query_one("#chat-input", Input).focus()
        self.asking: tuple[str, ApprovalScreen] | None = None  # the request the dialog shows
        self.set_interval(min(1.0, self.app.services.settings.poll_s), self.watch_run)  # type: ignore[attr-defined]
        self.attach_to_live_run()

    # --- chat -------------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "chat-input":
            return
        text = event.value.strip()
        event.input.value = ""
        if not text:
            return
        self.query_one(ChatLog).say("you", text)
        editor = self.query_one(DraftEditor)
        self.understand(text, editor.text, editor.draft_name)

    @work(thread=True, exclusive=True, group="chat")
    def understand(self, text: str, draft_text: str, draft_name: str) -> None:
        from openlora.agent.goal import GoalError
        from openlora.chat.answers import answer_question
        from openlora.chat.drafts import adjust_draft, draft_goal
        from openlora.chat.intent import IntentError, parse_request

        services = self.app.services  # type: ignore[attr-defined]
        settings = services.settings
        try:
            intent = parse_request(services.advisor, text, settings.cwd)
        except IntentError as exc:
            self.post_message(ChatReply(str(exc), [], "error"))
            return
        notes = [f"(understood as {intent.kind}; checked: {c})" for c in intent.corrections]
        try:
            if intent.kind == "tune":
                draft = draft_goal(
                    intent,
                    settings.runs / "data",
                    settings.base_model,
                    settings.training,
                    settings.approval,
                )
                self.post_message(DraftReady(draft.text, draft.name, draft.notes))
                self.post_message(
                    ChatReply(
                        f"I drafted goal '{draft.name}' on {intent.dataset}. Review it and approve.", notes
                    )
                )
            elif intent.kind == "adjust":
                if not draft_text.strip():
                    self.post_message(ChatReply("There is no draft to adjust yet.", notes))
                    return
                new_text, change = adjust_draft(draft_text, intent)
                self.post_message(DraftReady(new_text, draft_name, [f"adjusted {change}"]))
                self.post_message(ChatReply(f"Draft adjusted: {change}.", notes))
            elif intent.kind == "question":
                answer = answer_question(services.registry, services.memory, intent.run)
                self.post_message(ChatReply(answer.headline, answer.facts))
            else:
                self.post_message(ChatReply(HELP, notes))
        except GoalError as exc:
            self.post_message(ChatReply(str(exc), notes, "error"))

    def on_chat_reply(self, message: ChatReply) -> None:
        self.query_one(ChatLog).say(message.author, message.text, message.facts)

    def on_draft_ready(self, message: DraftReady) -> None:
        self.query_one(DraftEditor).show(message.text, message.name, message.notes)

    # --- draft → run ------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        editor = self.query_one(DraftEditor)
        if event.button.id == "discard-draft":
            editor.clear()
        elif event.button.id == "approve-draft":
            if self.app.active_run is not None:  # type: ignore[attr-defined]
                editor.set_error("A run is already in progress; wait for it to end.")
                return
            self.start_run(editor.text, editor.draft_name)

    def start_run(self, text: str, name: str) -> None:
        from openlora.agent.goal import GoalError
        from openlora.chat.drafts import save_draft
        from openlora.ui_core.supervised_runs import start_supervised_run

        editor = self.query_one(DraftEditor)
        settings = self.app.services.settings  # type: ignore[attr-defined]
        try:
            path, goal = save_draft(text, settings.runs / "drafts", name or "goal")
        except GoalError as exc:
            editor.set_error(str(exc))
            return
        editor.set_error("")
        editor.set_running(True, str(path))
        self.query_one("#chat-input", Input).focus()
        root = start_supervised_run(path, settings.runs, goal.name)  # its own process: outlives the TUI
        self.app.active_run = root  # type: ignore[attr-defined]
        self.post_message(RunStarted(root))

    def attach_to_live_run(self) -> None:
        """A run still supervised (started by an earlier TUI, the web page or a terminal): follow it."""
        from openlora.ui_core.supervised_runs import live_runs

        settings = self.app.services.settings  # type: ignore[attr-defined]
        running = live_runs(settings.runs)
        if running and self.app.active_run is None:  # type: ignore[attr-defined]
            self.app.active_run = running[-1]  # type: ignore[attr-defined]
            self.query_one(DraftEditor).set_running(True, str(running[-1]))
            self.query_one(LiveRun).follow(running[-1])
            self.query_one(ChatLog).say("openlora", f"Following the run still going in {running[-1]}.")

    def watch_run(self) -> None:
        """One refresh of the followed run: curves and timeline, a waiting proposal, the end."""
        update = self.query_one(LiveRun).poll()
        root = self.app.active_run  # type: ignore[attr-defined]
        if update is None or root is None:
            return
        self._show_approval(root, update.pending)
        if update.state != "running":
            self.post_message(_finished(root, update.state, self.query_one(LiveRun).watch))
            self.app.active_run = None  # type: ignore[attr-defined]

    def _show_approval(self, root: Path, pending: dict[str, Any] | None) -> None:
        """Show the waiting proposal once; close the dialog when another front answered it."""
        from openlora.agent.approval_desk import answer

        if self.asking is not None and (pending is None or pending["id"] != self.asking[0]):
            self.asking[1].dismiss(None)
            self.asking = None
        if pending is None or self.asking is not None:
            return
        request_id = pending["id"]

        def answered(verdict: dict[str, Any] | None) -> None:
            if self.asking is not None and self.asking[0] == request_id:
                self.asking = None
            if verdict is not None and not answer(root, request_id, verdict, by="tui"):
                self.query_one(ChatLog).say("openlora", "That proposal was already answered elsewhere.")

        dialog = ApprovalScreen(pending["question"])
        self.asking = (request_id, dialog)
        self.app.push_screen(dialog, answered)

    def on_run_started(self, message: RunStarted) -> None:
        self.query_one(LiveRun).follow(message.root)
        self.query_one(ChatLog).say("openlora", f"Started the run in {message.root}.")

    def on_run_finished(self, message: RunFinished) -> None:
        self.app.active_run = None  # type: ignore[attr-defined]
        self.query_one(DraftEditor).set_running(False)
        live = self.query_one(LiveRun)
        live.poll()
        final = message.final
        if final is None:
            self.query_one(ChatLog).say("error", f"The run stopped: {message.error}")
            return
        attempts = final.attempts
        facts = [f"attempt {a.number}: {a.status.value} — {a.message}" for a in attempts]
        if not attempts and final.dataset:  # refused before training: say why (never the data's own text)
            facts += [f"not trained: {problem}" for problem in final.dataset.blocking]
        facts.append(f"report: {GoalDir(message.root).report_md}")
        self.query_one(ChatLog).say(
            "openlora", f"The run ended: {message.outcome} after {len(attempts)} attempt(s).", facts
        )
        self.app.finished_runs.append(message)  # type: ignore[attr-defined]


def _finished(root: Path, state: str, watch: Any) -> RunFinished:
    """The end of a followed run, from its ``report.json`` (or why there is none)."""
    from pydantic import ValidationError

    from openlora.agent.state import GoalRun

    report = watch.report() if watch is not None else None
    if state == "finished" and report is not None:
        try:
            final = GoalRun.model_validate(report)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            return RunFinished(root, "error", error=f"{root}: report.json does not read back ({problem})")
        return RunFinished(root, str(final.outcome), final)
    return RunFinished(
        root,
        "error",
        error=(
            f"the supervisor of {root} stopped without a report (see {GoalDir(root).supervisor_log}); "
            f"`openlora-agent run GOAL.yaml --resume --run-dir {root}` continues it"
        ),
    )
