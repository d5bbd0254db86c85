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
