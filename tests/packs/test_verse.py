"""The verse pack: poems split into stanzas and continuation pairs, and the line-structure check."""

from __future__ import annotations

from openlora.packs.verse import import_poems
from openlora.packs.verse.poems import split_poems
from openlora.packs.verse.structure import line_structure

POEMS = """\
The Harbour

Grey water folds against the stone,
the gulls complain, the ropes are thrown,
and every mast is standing bare.

The tide comes in without a sound,
it fills the hollows in the ground
and leaves its salt upon the air.

***

no title here, one stanza long,
four lines to make a little song,
a second half that follows on,
and then the little song is gone.
"""


def test_a_folder_of_poems_becomes_continuation_pairs(tmp_path):
    (tmp_path / "a.txt").write_text(POEMS)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Short\n\nonly two\nlines here\n")
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    records, report = import_poems(tmp_path)
    assert report.counts == {"poems": 3, "files": 3}
    assert dict(report.skipped) == {"c.txt": "not UTF-8 text", "sub/b.md:1": "poem shorter than four lines"}
    first, second = records
    assert first["prompt"].startswith("Continue this poem in the same style.\nThe Harbour\n\nGrey water")
    assert first["response"].startswith("The tide comes in") and first["response"].count("\n") == 2
    assert second["prompt"].endswith("four lines to make a little song,")
    assert second["response"] == "a second half that follows on,\nand then the little song is gone."


def test_titles_and_stanzas():
    poems = split_poems(POEMS)
    assert [p.title for p in poems] == ["The Harbour", ""] and [len(p.stanzas) for p in poems] == [2, 1]


def test_the_line_structure_check():
    prompt = "Continue this poem in the same style.\nThe Harbour\n\nGrey water folds against the stone,\nthe gulls complain, the ropes are thrown,\nand every mast is standing bare."  # noqa: E501
    good = (
        "The tide comes in without a sound,\nit fills the hollows in the ground\n"
        "and leaves its salt upon the air."
    )
    assert line_structure(prompt, good)
    assert not line_structure(prompt, good.replace("\n", " "))  # one long line
    assert not line_structure(prompt, "\n".join(["word"] * 12))  # too many, too short
