"""Project rules that are cheap to check: import contracts, module docstrings, package layout."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = [
    "agent",
    "advisor",
    "chat",
    "tools",
    "trainer",
    "memory",
    "prompts",
    "tui",
    "cli",
    "evaluation",
    "synthesis",
    "observability",
    "ui_core",
    "web",
    "packs",
]


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is part of the dev install"
    proc = subprocess.run([lint_imports], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_every_module_has_a_docstring():
    missing = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None:
                missing.append(str(path.relative_to(REPO)))
    assert not missing, missing


def test_packages_install_under_the_openlora_namespace():
    import sysconfig

    import openlora.trainer

    assert Path(openlora.trainer.__file__).resolve().parent == (REPO / "trainer").resolve()
    site = Path(sysconfig.get_paths()["purelib"])
    assert not [name for name in PACKAGES if (site / name).exists()], (
        "no bare top-level package may be installed"
    )


MAX_FUNCTION_LINES = 60
# Data tables that read best whole (one entry a case), not logic.
LONG_TABLES = {("bench/brokenlora/cases.py", "_all_cases"), ("bench/brokenlora/cases.py", "_setting_cases")}


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for path in sorted(REPO.glob("**/*.py")):
        relative = path.relative_to(REPO)
        if relative.parts[0] in {".venv", "build"} or "site-packages" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and (str(relative), node.name) not in LONG_TABLES:
                    long.append(f"{relative}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_run_folder_file_names_are_spelled_only_by_rundir():
    """Every file of the run-folder contract is named by trainer/rundir.py (RunDir, GoalDir) alone:
    no other module builds a path from the bare file name (prose that mentions a file is fine)."""
    names = {
        "spec.json",
        "metrics.jsonl",
        "control.json",
        "result.json",
        "trainer.pid",
        "trainer.log",
        "agent_events.jsonl",
        "agent.sqlite",
        "report.md",
        "manifest.json",
    }
    spelled = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if path.name == "rundir.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in names:
                    spelled.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value!r}")
    assert not spelled, spelled
