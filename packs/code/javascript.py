"""JavaScript and TypeScript source → pairs from JSDoc comments (``/** … */`` right above a definition).

What it is for: :func:`javascript_pairs`: each JSDoc block followed by a function declaration
(``function``, ``async function``, ``export [default] function``), an arrow or function expression
bound to a name (``const f = (…) =>``), a class or a class method, becomes a "write the function
that …" pair (the description → the code) and an "explain this function" pair (the code → the
description with its ``@param`` / ``@returns`` tags as text). A definition's extent is found by
matching braces outside strings, template literals and comments; the code is read, never run.
What it is not for: Python (``python_source``) or deciding which files to read (``tree``).
"""

from __future__ import annotations

import re

JSDOC = re.compile(r"/\*\*(?!/)(?P<body>.*?)\*/\s*", re.S)
DEFINITION = re.compile(
    r"(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:"
    r"(?:async\s+)?function\s*\*?\s*(?P<fn>[A-Za-z_$][\w$]*)"
    r"|(?:abstract\s+)?class\s+(?P<cls>[A-Za-z_$][\w$]*)"
    r"|(?:const|let|var)\s+(?P<var>[A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s+)?(?:function\b|\(|[A-Za-z_$][\w$]*\s*=>)"
    r"|(?:(?:public|private|protected|static|async|get|set|readonly)\s+)*(?P<method>[A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\("
    r")"
)  # fmt: skip
MAX_CODE_LINES = 80
KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "function"}


def _skip_quoted(text: str, i: int) -> int:
    """The index after the string or template literal that starts at ``i``."""
    quote, i = text[i], i + 1
    while i < len(text) and text[i] != quote:
        if text[i] == "\\":
            i += 1
        elif quote != "`" and text[i] == "\n":
            break
        i += 1
    return i + 1


def block_end(text: str, start: int) -> int | None:
    """The index after the ``}`` that closes the first ``{`` at or after ``start``; None when unbalanced."""
    depth, i, opened = 0, start, False
    while i < len(text):
        char = text[i]
        if char in "'\"`":
            i = _skip_quoted(text, i)
            continue
        if text.startswith("//", i):
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        if text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = len(text) if close < 0 else close + 2
            continue
        if char == "{":
            depth, opened = depth + 1, True
        elif char == "}":
            depth -= 1
            if opened and depth == 0:
                return i + 1
        elif char == ";" and not opened:
            return i + 1  # an expression-bodied arrow: `const f = (a) => a + 1;`
        i += 1
    return None


def describe(body: str) -> tuple[str, str]:
    """(the description, the description with its tags as sentences) of one JSDoc body."""
    lines = [re.sub(r"^\s*\* ?", "", line).rstrip() for line in body.strip().splitlines()]
    text = [line for line in lines if not line.startswith("@")]
    tags = [line for line in lines if line.startswith(("@param", "@returns", "@return", "@throws"))]
    description = " ".join(" ".join(text).split())
    tag_text = [
        re.sub(r"^@(\w+)\s*(?:\{[^}]*\}\s*)?", lambda m: f"{m[1].rstrip('s').title()}: ", t) for t in tags
    ]
    return description, "\n".join([description, *tag_text]).strip()


def javascript_pairs(text: str, where: str, language: str = "JavaScript") -> list[dict[str, str]]:
    """Pairs from one JavaScript or TypeScript file."""
    pairs: list[dict[str, str]] = []
    for doc in JSDOC.finditer(text):
        match = DEFINITION.match(text, doc.end())
        if not match:
            continue
        name = match["fn"] or match["cls"] or match["var"] or match["method"]
        if name in KEYWORDS:
            continue
        end = block_end(text, match.end())
        description, explained = describe(doc["body"])
        if end is None or not description:
            continue
        code = text[doc.end() : end]
        indent = text[text.rfind("\n", 0, doc.start()) + 1 : doc.start()]
        code = "\n".join(line.removeprefix(indent) for line in code.splitlines())
        if code.count("\n") >= MAX_CODE_LINES:
            continue
        kind = "class" if match["cls"] else "function"
        pairs.append(
            {
                "prompt": f"Write the {language} {kind} `{name}` that: {description}",
                "response": code,
                "source": where,
            }
        )
        fence = "ts" if language == "TypeScript" else "js"
        pairs.append(
            {
                "prompt": f"Explain this {language} {kind}.\n```{fence}\n{code}\n```",
                "response": explained,
                "source": where,
            }
        )
    return pairs
