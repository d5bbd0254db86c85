"""The builder's stages past parsing: chunking, the graph's links, the filters and provenance.

No model generation here (``model_calls=0``); MiniLM embeds (numpy, a few seconds)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from openlora.synthesis.builder.chunking import Chunk, chunk_documents, estimate_tokens
from openlora.synthesis.builder.documents import Block, parse_folder
from openlora.synthesis.builder.filters import DropLog, deduplicate, grounding_problem
from openlora.synthesis.builder.graph import build_graph, graph_of_facts, stated_relation
from openlora.synthesis.builder.pipeline import build_dataset, documents_to_records, no_progress
from openlora.synthesis.builder.questions import Candidate, candidates
from openlora.trainer.data_files import ColumnMap, read_records

REPO = Path(__file__).resolve().parents[3]
DOME = "# Dome\n\nThe dome shutter is the curved steel panel that opens a slit 2.4 metres wide.\n"
POWER = (
    "# Power\n\nThe generator is a 250 kilowatt diesel generator in the power house.\n\n"
    "## Failures\n\nThe power house includes:\n\n- the generator\n- the battery bank\n\n"
    "When mains power fails, the dome shutter is closed on battery power.\n"
)


def _chunk(cid: str, text: str, headings: tuple[str, ...] = ("Doc",)) -> Chunk:
    return Chunk(cid, "doc.md", headings, [Block("para", text=text)], estimate_tokens(text))


def _corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "dome.md").write_text(DOME, encoding="utf-8")
    (docs / "power.md").write_text(POWER, encoding="utf-8")
    return docs


def test_chunks_respect_the_token_budget_overlap_and_headings(tmp_path: Path) -> None:
    text = " ".join(f"Sentence number {i} tells the operator about the dome." for i in range(40))
    (tmp_path / "long.md").write_text(f"# Long\n\n## Part\n\n{text}\n", encoding="utf-8")
    documents, _ = parse_folder(tmp_path)
    chunks = chunk_documents(documents, tmp_path, estimate_tokens, max_tokens=60, overlap=15)
    assert len(chunks) > 3
    assert all(c.headings == ("Long", "Part") and c.tokens <= 60 for c in chunks)
    assert chunks[1].blocks[0].text == chunks[0].blocks[-1].text  # overlap carried into the next chunk
    assert len({c.id for c in chunks}) == len(chunks)


def test_graph_links_two_chunks_that_mention_the_same_entity(tmp_path: Path) -> None:
    documents, _ = parse_folder(_corpus(tmp_path))
    chunks = chunk_documents(documents, tmp_path / "docs")
    graph = build_graph(chunks)
    shutter = graph.entities["dome shutter"]
    dome_chunk = next(c for c in chunks if c.file == "dome.md")
    failure_chunk = next(c for c in chunks if c.headings[-1] == "Failures")
    assert shutter.defined_in == [dome_chunk.id]
    assert set(shutter.mentions) == {dome_chunk.id, failure_chunk.id}
    link = next(link for link in graph.links if {link.a, link.b} == {dome_chunk.id, failure_chunk.id})
    assert "dome shutter" in link.entities
    parts = {f.object for f in graph.facts if f.kind == "part" and f.subject == "power house"}
    assert parts == {"the generator", "the battery bank"}


def test_table_rows_become_attribute_facts() -> None:
    chunk = Chunk(
        "c1", "t.md", ("Axes",), [Block("table", rows=[["Axis", "Range"], ["Azimuth", "270 degrees"]])]
    )
    graph = build_graph([chunk])
    assert [(f.subject, f.relation, f.object) for f in graph.facts] == [("Azimuth", "Range", "270 degrees")]


COOLING = (
    "The cryocooler sits in the power house. "
    "Every night the cryocooler chills the glycol loop before the detector is switched on."
)


def test_a_model_relation_joins_the_graph_only_when_one_sentence_states_it() -> None:
    chunk = _chunk("c1", COOLING, ("Cooling",))
    fact = stated_relation("the cryocooler", "chill", "glycol loop", chunk)
    assert fact is not None and (fact.kind, fact.origin) == ("relation", "model")
    assert (
        fact.evidence
        == "Every night the cryocooler chills the glycol loop before the detector is switched on."
    )
    refused = [
        ("cryocooler", "chills", "the telescope mirror"),  # an object the passage never names
        ("cryocooler", "powers", "glycol loop"),  # a relation the sentence does not say
        ("it", "chills", "glycol loop"),  # a pronoun is no subject
        ("cryocooler", "sits in", "glycol loop"),  # the words are in two different sentences
        ("glycol loop", "is", "the glycol loop"),  # one thing related to itself
        ("cryocooler", "of the", "detector"),  # a relation of stop words only
    ]
    for triple in refused:
        assert stated_relation(*triple, chunk) is None, triple


def test_a_checked_relation_links_chunks_and_becomes_a_grounded_pair() -> None:
    cooling = _chunk("c1", COOLING, ("Cooling",))
    night = _chunk("c2", "Check the glycol loop pressure on the panel before opening the dome.", ("Night",))
    relation = stated_relation("cryocooler", "chills", "glycol loop", cooling)
    assert relation is not None
    plain = build_graph([cooling, night])
    enriched = graph_of_facts([cooling, night], [*plain.facts, relation])
    assert "glycol loop" not in plain.entities and not plain.links
    assert enriched.entities["glycol loop"].mentions == ["c1", "c2"]
    assert [link.entities for link in enriched.links] == [["glycol loop"]]
    pairs = [c for c in candidates(enriched) if c.kind == "relation"]
    assert [(p.prompt, p.origin) for p in pairs] == [
        ("How are the cryocooler and the glycol loop related?", "model_relation")
    ]
    assert pairs[0].response == relation.evidence and grounding_problem(pairs[0], COOLING) is None


def test_grounding_drops_a_planted_answer_with_an_invented_fact() -> None:
    source = "The generator is a 250 kilowatt diesel generator in the power house."
    true = Candidate("What is the generator?", source, "definition", ["c1"])
    invented_number = Candidate("What is the generator?", "The generator is a 400 kilowatt diesel generator.",
                                "definition", ["c1"])  # fmt: skip
    invented_name = Candidate(
        "Who built the generator?", "The generator was built by Harold Finch.", "definition", ["c1"]
    )
    invented_prose = Candidate(
        "What is the generator?",
        "The generator is a solar turbine floating on the lake.",
        "definition",
        ["c1"],
    )
    assert grounding_problem(true, source) is None
    assert grounding_problem(invented_number, source) == "unsupported_fact"
    assert grounding_problem(invented_name, source) == "unsupported_fact"
    assert grounding_problem(invented_prose, source) == "ungrounded_words"


def test_a_model_summary_must_end_as_a_sentence_and_say_what_the_source_says() -> None:
    source = (
        "A master frame is a single calibration frame made by combining many raw frames of the same kind. "
        "Lantern builds a master bias, a master dark and a master flat for each filter or slit."
    )
    question = 'In a sentence or two, what does the section "Master frames" say?'
    copied = Candidate(question, source, "summary", ["c1"], origin="model_summary")
    cut = Candidate(question, source[:-40].rstrip() + ",", "summary", ["c1"], origin="model_summary")
    stitched = Candidate(  # every word is the source's, the claim is not
        question,
        "A master frame is a single calibration frame. Each filter or slit is scaled to a master frame.",
        "summary",
        ["c1"],
        origin="model_summary",
    )
    assert grounding_problem(copied, source) is None
    assert grounding_problem(cut, source) == "truncated"
    assert grounding_problem(stitched, source) == "unsupported_phrasing"
    # templates copy the corpus: the phrasing check is for what the model wrote
    assert grounding_problem(replace(stitched, origin="template"), source) is None


def test_dedup_drops_a_paraphrase_but_keeps_pairs_that_differ_in_a_fact() -> None:
    answer = "The dome shutter is the curved steel panel that opens a slit 2.4 metres wide."
    pairs = [
        Candidate("What is the dome shutter?", answer, "definition", ["c1"]),
        Candidate("What's the dome shutter?", answer, "definition", ["c1"]),
        Candidate(
            "What is the width of Slit 2?", "The width of Slit 2 is 1.0 arcseconds.", "attribute", ["c2"]
        ),
        Candidate(
            "What is the width of Slit 5?", "The width of Slit 5 is 3.0 arcseconds.", "attribute", ["c2"]
        ),
    ]
    log = DropLog()
    kept = deduplicate(pairs, [], log)
    assert [c.prompt for c in kept] == [pairs[0].prompt, pairs[2].prompt, pairs[3].prompt]
    assert log.dropped == {"near_duplicate": 1}


def test_leakage_drops_a_pair_equal_to_an_eval_pair() -> None:
    leaked = Candidate("What is the generator?", "The generator is a diesel generator.", "definition", ["c1"])
    fresh = Candidate(
        "What does the power house include?", "The power house includes the battery bank.", "part", ["c2"]
    )
    log = DropLog()
    eval_pairs = [{"prompt": "What is the generator?", "response": "The generator is a diesel generator."}]
    assert deduplicate([leaked, fresh], eval_pairs, log) == [fresh]
    assert log.dropped == {"leakage": 1}


def _check_rows(rows: list[dict]) -> None:
    assert rows
    for row in rows:
        assert row["prompt"] and row["response"] and row["source_file"] and row["heading"] and row["chunk_id"]
        assert row["provenance"][0] == {
            "file": row["source_file"],
            "heading": row["heading"],
            "chunk_id": row["chunk_id"],
        }
        if row["kind"] == "multi_hop":
            assert len({p["chunk_id"] for p in row["provenance"]}) == 2


def test_every_record_carries_its_provenance(tmp_path: Path) -> None:
    rows, report = documents_to_records(_corpus(tmp_path))
    _check_rows(rows)
    assert {r["kind"] for r in rows} >= {"definition", "part", "summary", "multi_hop"}
    assert report.parsed == 2 and report.chunks >= 3


@pytest.mark.long
def test_build_dataset_on_the_example_handbook_writes_pairs_that_train(tmp_path: Path) -> None:
    out, eval_out = tmp_path / "pairs.jsonl", tmp_path / "eval.jsonl"
    report = build_dataset(REPO / "examples/handbook/docs", out, eval_out, n=500, model_calls=0,
                           progress=no_progress, token_counter=estimate_tokens)  # fmt: skip
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    eval_rows = [json.loads(line) for line in eval_out.read_text(encoding="utf-8").splitlines()]
    _check_rows(rows)
    _check_rows(eval_rows)
    assert report.skipped == [] and report.encodings["visitor-notes.txt"] == "cp1252"
    assert {"pdf", "html"} <= {Path(r["source_file"]).suffix.lstrip(".") for r in rows + eval_rows}
    held = {r["chunk_id"] for r in eval_rows if len(r["provenance"]) == 1}  # held-out sections' chunks
    assert not held & {p["chunk_id"] for r in rows for p in r["provenance"]}
    assert len(read_records(out, ColumnMap())) == len(rows)  # the trainer reads the rows as they are
    assert all(r.kind == "pair" for r in read_records(out, ColumnMap()))
    saved = json.loads(out.with_suffix(".report.json").read_text(encoding="utf-8"))
    assert saved["written"] == len(rows) and saved["eval"]["pairs"] == len(eval_rows)
    graph = json.loads(out.with_suffix(".graph.json").read_text(encoding="utf-8"))
    assert graph["links"] and graph["entities"] and len(graph["chunks"]) == report.chunks
