"""Python source → pairs, through ``ast`` only (the code is parsed, never imported or run).

What it is for: :func:`python_pairs`: for every function, method and class with a docstring, a
"write the function that …" pair (the docstring's summary → the code) and an "explain this function"
pair (the code without its docstring → the docstring); for every block of statements right under a
comment of a few words, a "write the code that …" pair (comment → block).
What it is not for: walking the tree or deciding which files to read (``tree``).
"""

from __future__ import annotations

import ast
import textwrap

MIN_COMMENT_WORDS = 3
MAX_CODE_LINES = 80


def _dedent(code: str) -> str:
    return textwrap.dedent(code).strip("\n")


def _without_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str]) -> str:
    """The definition's source with its docstring lines left out; empty when nothing else is in it."""
    body = node.body
    if len(body) < 2:
        return ""
    start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
    doc = body[0]
    kept = lines[start : doc.lineno - 1] + lines[doc.end_lineno or doc.lineno : node.end_lineno]
    return _dedent("\n".join(kept))


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _definition_pairs(node: Definition, lines: list[str], where: str) -> list[dict[str, str]]:
    doc = ast.get_docstring(node)
    if not doc:
        return []
    start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
    code = "\n".join(lines[start : node.end_lineno])
    if code.count("\n") >= MAX_CODE_LINES:
        return []
    code = _dedent(code)
    kind = "class" if isinstance(node, ast.ClassDef) else "function"
    name = node.name
    summary = doc.split("\n\n")[0].replace("\n", " ")
    pairs = [
        {"prompt": f"Write the Python {kind} `{name}` that: {summary}", "response": code, "source": where}
    ]
    bare = _without_docstring(node, lines)
    if bare:
        pairs.append(
            {
                "prompt": f"Explain this Python {kind}.\n```python\n{bare}\n```",
                "response": doc,
                "source": where,
            }
        )
    return pairs


def _comment_above(lines: list[str], lineno: int) -> str:
    """The comment lines right above line ``lineno`` (1-based), joined; empty when there are none."""
    found: list[str] = []
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith("#") and not lines[i].startswith("#!"):
        found.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    text = " ".join(found)
    noise = text.lower().startswith(("noqa", "type:", "pragma", "fmt:", "pylint", "-*-"))
    return "" if noise or len(text.split()) < MIN_COMMENT_WORDS else text


def _block_pairs(body: list[ast.stmt], lines: list[str], where: str) -> list[dict[str, str]]:
    """Comment-preceded runs of statements in one body: a run ends at a blank line or a definition."""
    pairs = []
    for i, stmt in enumerate(body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        comment = _comment_above(lines, stmt.lineno)
        if not comment:
            continue
        end = stmt.end_lineno or stmt.lineno
        for nxt in body[i + 1 :]:
            between = lines[end : nxt.lineno - 1]
            if isinstance(nxt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or any(
                not x.strip() or x.strip().startswith("#") for x in between
            ):
                break
            end = nxt.end_lineno or nxt.lineno
        code = _dedent("\n".join(lines[stmt.lineno - 1 : end]))
        if code.count("\n") < MAX_CODE_LINES:
            pairs.append(
                {"prompt": f"Write Python code that does this: {comment}", "response": code, "source": where}
            )
    return pairs


def python_pairs(text: str, where: str) -> list[dict[str, str]]:
    """Pairs from one Python file; SyntaxError propagates for the caller to report."""
    tree = ast.parse(text)
    lines = text.splitlines()
    pairs: list[dict[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            pairs += _definition_pairs(node, lines, where)
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                pairs += _block_pairs(body, lines, where)
    return pairs
