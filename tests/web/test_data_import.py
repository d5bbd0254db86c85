"""The Data tab imports an upload with a domain pack: the choices, the Import button, the note, the preview.

Its own server (the module's ``server`` fixture), so the uploads it adds never change what the page
tests in ``test_web_page.py`` count.
"""

from __future__ import annotations

from openlora.web.data_tab import AS_IS
from tests.web.page import Page, shot

XSS = "<script>alert(1)</script> <img src=x onerror=\"document.title='pwned'\">"
POEMS = (
    f"The Sea\n\nwaves come in\n{XSS}\n\nthe gulls cry\nthe sand is wet\n\n***\n\n"
    "Night\n\nstars are out\nthe moon is bright\n\nthe owl calls\nthe dark is deep\n"
)


def test_a_text_file_of_poems_is_imported_with_the_verse_pack_and_previewed_as_text(server, browser):
    page = Page(browser, server.url)
    page.upload("poems.txt", POEMS.encode())
    page.wait_value("import-choice", lambda v: v.startswith("use as is"))
    assert "3 importers take " in page.value("import-note")
    page.pick("import-choice", "verse/poems")
    page.click("import")
    note = page.wait_value("import-note", lambda v: "verse/poems: 2 records" in v)
    assert "-poems.txt → " in note and "-poems.verse-poems.jsonl" in note and "skipped 0" in note
    rows = page.wait_value("preview-rows", lambda v: "continue" in v.lower())
    assert XSS in rows and "2 examples (2 pair)" in page.value("preview-status")
    assert "-poems.verse-poems.jsonl" in page.value("upload-list")
    shot(page, "data-import", height=900)
    assert page.dialogs == [] and page.page.title() == "OpenLoRA"
    assert page.page.locator("img[src='x']").count() == 0
    stored = sorted(p.name for p in (server.folder / "runs" / "uploads").iterdir())
    assert [n.split("-", 1)[1] for n in stored] == [
        "poems.txt",
        "poems.verse-poems.jsonl",
        "poems.verse-poems.report.json",
    ]
    assert AS_IS not in note
