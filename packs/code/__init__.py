"""The ``code`` pack: a source tree → code/docstring and code/comment pairs (Python, JavaScript, TypeScript).

What it is for: declaring the pack (``PACK``, registered under ``openlora.packs``): one importer for a
folder or a single source file, which reads Python through ``ast`` and JavaScript/TypeScript JSDoc,
skipping vendored, gitignored, generated, minified and binary files (``tree``); a check that a code
answer parses when it is Python; goal defaults for the task.
What it is not for: parsing (``python_source``, ``javascript``) or the walk (``tree``). Code from the
tree is never imported or executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from openlora.packs.code.javascript import javascript_pairs
from openlora.packs.code.python_source import python_pairs
from openlora.packs.code.tree import read_source, source_files
from openlora.synthesis.packs.interface import (
    INTERFACE_VERSION,
    Check,
    GoalDefaults,
    Importer,
    ImportReport,
    Pack,
    Record,
    Template,
)

LANGUAGES = {".py": "Python", ".js": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript",
             ".jsx": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript", ".mts": "TypeScript"}  # fmt: skip  # noqa: E501


def _pairs(text: str, where: str, suffix: str, report: ImportReport) -> list[Record]:
    language = LANGUAGES[suffix]
    if language == "Python":
        try:
            found = python_pairs(text, where)
        except (SyntaxError, ValueError) as exc:
            report.skip(f"{where}:{getattr(exc, 'lineno', '?')}", "Python syntax error")
            return []
    else:
        found = javascript_pairs(text, where, language)
    report.count(language, len(found))
    report.count("files read")
    return found


def import_tree(path: Path) -> tuple[list[Record], ImportReport]:
    """Pairs from a source folder (or one source file); what is skipped is listed with its reason."""
    report = ImportReport(source=str(path))
    records: list[Record] = []
    if path.is_file():
        suffix = path.suffix.lower()
        text = read_source(path, path.name, report) if suffix in LANGUAGES else None
        if suffix not in LANGUAGES:
            report.skip(path.name, f"not a {', '.join(sorted(set(LANGUAGES.values())))} file")
        return (_pairs(text, path.name, suffix, report) if text is not None else []), report
    for where, text in source_files(path, set(LANGUAGES), report):
        records += _pairs(text, where, Path(where).suffix.lower(), report)
    return records, report


def python_parses(prompt: str, output: str) -> bool:
    """An answer to a "write the Python …" prompt parses as Python; other prompts pass."""
    if not prompt.startswith("Write the Python") and not prompt.startswith("Write Python"):
        return True
    code = output.strip().removeprefix("```python").removesuffix("```")
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


PACK = Pack(
    name="code",
    version="1.0.0",
    interface_version=INTERFACE_VERSION,
    description="A source tree → code/docstring and code/comment pairs (Python, JavaScript, TypeScript).",
    importers=(
        Importer(
            name="tree",
            help=(
                "A folder (or one file) of Python, JavaScript or TypeScript: docstrings, comments and JSDoc "
                "become write/explain pairs; vendored, .gitignored, generated, minified and binary files "
                "are skipped and listed."
            ),
            accepts=("dir", *LANGUAGES),
            run=import_tree,
        ),
    ),
    checks=(Check("python-parses", "Python code answers parse (ast.parse; never run).", python_parses),),
    templates=(Template("explain", "Ask for an explanation of a snippet.", "Explain this code.\n{input}"),),
    goal_defaults=GoalDefaults(
        task="Write and explain this code base's functions in its own style.",
        success={"val_loss_below": 1.5},
        checks=("python-parses",),
    ),
)
