"""Token-sized chunks of a document's sections, with overlap, each keeping its heading path.

What it is for: cutting sections into chunks of at most ``max_tokens`` tokens that never cross a
heading; paragraphs longer than a chunk are cut at sentence ends; the last sentences of a chunk (up
to ``overlap`` tokens) open the next chunk of the same section. Lists and tables stay whole blocks
(a table longer than a chunk is cut by rows, its header repeated) so the graph can read them.
Tokens are counted with the embedded SmolLM2 tokenizer (llama.cpp, vocabulary only: about 2 s to
load, then microseconds a chunk) or, where that is not wanted, :func:`estimate_tokens`.
What it is not for: parsing (the readers) or deciding what a chunk means (``graph``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openlora.synthesis.builder.documents import Block, Document

TokenCounter = Callable[[str], int]
MAX_TOKENS = 200
OVERLAP = 40
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
PIECE = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


def estimate_tokens(text: str) -> int:
    """A word-piece estimate of SmolLM2's token count: a word is one token per 6 letters (rounded up),
    each digit run and punctuation mark one; within about 15 % of the real count on English prose."""
    return sum(-(-len(p) // 6) if p[0].isalpha() else 1 for p in PIECE.findall(text))


def embedded_token_counter() -> TokenCounter:
    """The embedded SmolLM2's own tokenizer through llama.cpp (vocabulary only), else the estimate."""
    try:
        from llama_cpp import Llama

        from openlora.trainer.export.gguf_check import quiet_stderr
        from openlora.trainer.models import embedded_gguf_path

        with quiet_stderr():
            vocab = Llama(model_path=str(embedded_gguf_path()), vocab_only=True, verbose=False)
    except Exception:  # no llama.cpp or no package: the estimate is documented and close enough
        return estimate_tokens

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return count


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text) if s.strip()]


@dataclass
class Chunk:
    id: str
    file: str
    headings: tuple[str, ...]
    blocks: list[Block] = field(default_factory=list)
    tokens: int = 0

    @property
    def heading(self) -> str:
        return " > ".join(self.headings)

    @property
    def text(self) -> str:
        return "\n".join(block.render() for block in self.blocks)


def _pieces(block: Block, count: TokenCounter, limit: int) -> list[Block]:
    """``block`` cut to fit ``limit``: a paragraph by sentences, a table by rows (header repeated)."""
    if count(block.render()) <= limit:
        return [block]
    if block.kind == "table" and len(block.rows) > 2:
        header, rows, out, current = block.rows[0], block.rows[1:], [], []
        for row in rows:
            if current and count(" | ".join(" | ".join(r) for r in [header, *current, row])) > limit:
                out.append(Block("table", rows=[header, *current]))
                current = []
            current.append(row)
        return [*out, Block("table", rows=[header, *current])]
    if block.kind == "list":
        return [
            Block("list", lead=block.lead, items=block.items[i : i + 8])
            for i in range(0, len(block.items), 8)
        ]
    return [Block("para", text=s) for s in sentences(block.text)]


def _overlap(blocks: list[Block], count: TokenCounter, overlap: int) -> list[Block]:
    """The trailing sentences of the last paragraph, up to ``overlap`` tokens (lists and tables: none)."""
    if not blocks or blocks[-1].kind != "para" or overlap <= 0:
        return []
    kept: list[str] = []
    for sentence in reversed(sentences(blocks[-1].text)):
        if count(" ".join([sentence, *kept])) > overlap:
            break
        kept.insert(0, sentence)
    return [Block("para", text=" ".join(kept))] if kept else []


def chunk_id(file: str, headings: tuple[str, ...], index: int, text: str) -> str:
    digest = hashlib.sha1(f"{file}\0{'/'.join(headings)}\0{index}\0{text}".encode()).hexdigest()
    return f"c{digest[:10]}"


def chunk_documents(
    documents: list[Document],
    root: Path,
    count: TokenCounter = estimate_tokens,
    max_tokens: int = MAX_TOKENS,
    overlap: int = OVERLAP,
) -> list[Chunk]:
    """Every section of every document as chunks of at most ``max_tokens`` (a lone long sentence aside)."""
    chunks: list[Chunk] = []
    for document in documents:
        file = (
            document.path.relative_to(root).as_posix()
            if document.path.is_relative_to(root)
            else str(document.path)
        )
        for section in document.sections:
            current: list[Block] = []
            pieces = [p for block in section.blocks for p in _pieces(block, count, max_tokens)]
            fresh = 0  # blocks of `current` that are not carried-over overlap
            for piece in pieces:
                if fresh and count("\n".join(b.render() for b in [*current, piece])) > max_tokens:
                    chunks.append(_make(file, section.headings, len(chunks), current, count))
                    current, fresh = _overlap(current, count, overlap), 0
                current.append(piece)
                fresh += 1
            if fresh:
                chunks.append(_make(file, section.headings, len(chunks), current, count))
    return chunks


def _make(
    file: str, headings: tuple[str, ...], index: int, blocks: list[Block], count: TokenCounter
) -> Chunk:
    text = "\n".join(b.render() for b in blocks)
    return Chunk(chunk_id(file, headings, index, text), file, headings, list(blocks), count(text))
