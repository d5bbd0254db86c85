"""The History & incidents tab: the registry's runs with each one's recorded facts, and memory search.

What it is for: the run table (``chat.answers.numbered_history``), the facts of a selected run
(``chat.answers.answer_question``, every fact quoted as recorded) and a search over the incident
memory (``IncidentMemory.search``; without a query, the newest incidents), all as text.
What it is not for: changing the registry or the memory.
"""

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from openlora.ui_core.history_view import HISTORY_COLUMNS, INCIDENT_COLUMNS, history_rows, incident_rows
from openlora.ui_core.services import Services
from openlora.web.text import plain


@dataclass
class HistoryTab:
    reload: gr.Button
    runs: gr.Dataframe


def _table(rows: list[list[str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([[plain(cell) for cell in row] for row in rows], columns=columns)


def load_history(services: Services) -> pd.DataFrame:
    from openlora.chat.answers import numbered_history

    return _table(history_rows(numbered_history(services.registry)), HISTORY_COLUMNS)


def run_facts(services: Services, table: pd.DataFrame, event: gr.SelectData) -> str:
    """The recorded facts of the run in the selected row."""
    from openlora.chat.answers import answer_question

    row = event.index[0] if isinstance(event.index, list | tuple) else event.index
    run_id = str(table.iloc[int(row)]["run"])
    found = answer_question(services.registry, services.memory, run_id)
    return "\n".join(plain(line) for line in [found.headline, *found.facts])


def search_incidents(services: Services, query: str) -> tuple[str, pd.DataFrame]:
    memory = services.memory
    query = query.strip()
    if query:
        hits = memory.search(query, k=20)
        return plain(f"{len(hits)} incidents like '{query}'"), _table(
            incident_rows([(h.incident, h.similarity) for h in hits]), INCIDENT_COLUMNS
        )
    recent = memory.recent(50)
    caption = f"the newest incidents ({memory.count()} remembered)"
    return caption, _table(incident_rows([(i, None) for i in recent]), INCIDENT_COLUMNS)


def build(services: Services) -> HistoryTab:
    reload = gr.Button("Reload", size="sm")
    runs = gr.Dataframe(headers=HISTORY_COLUMNS, datatype="str", interactive=False, elem_id="history-runs")
    facts = gr.Textbox(label="Facts of the selected run", lines=6, interactive=False, elem_id="history-facts")
    gr.Markdown("**Incident memory**")
    with gr.Row():
        query = gr.Textbox(
            label="Search incidents", placeholder="loss became nan", scale=4, elem_id="incident-query"
        )
        search = gr.Button("Search", scale=1, elem_id="incident-search")
    caption = gr.Textbox(label="Found", interactive=False, elem_id="incident-caption")
    incidents = gr.Dataframe(headers=INCIDENT_COLUMNS, datatype="str", interactive=False, elem_id="incidents")
    reload.click(lambda: load_history(services), None, runs)

    def facts_of(table: pd.DataFrame, event: gr.SelectData) -> str:
        return run_facts(services, table, event)

    runs.select(facts_of, runs, facts)
    for trigger in (search.click, query.submit):
        trigger(lambda q: search_incidents(services, q), query, [caption, incidents])
    return HistoryTab(reload, runs)
