"""Packs are discovered through entry points: the README's example pack installed from a temporary
folder is found and used by ``import --pack``; broken packs (an import error, another interface
version, an importer that raises) are named and skipped while the built-in packs keep working; a goal
names a pack and gets its defaults and checks.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlora.agent.goal import Goal
from openlora.cli.main import app
from openlora.synthesis.packs import registry

README = Path(__file__).resolve().parents[2] / "README.md"
BUILT_IN = {"siem", "code", "verse", "docs"}
FAQ = "Q: What is LoRA?\nA: A low-rank adapter.\n\nnot a pair\n\nQ: Is it small?\nA: Yes.\n"


def readme_example() -> tuple[str, str]:
    """The entry-point line and the module of README's "Writing a pack" example."""
    section = README.read_text(encoding="utf-8").split("### Writing a pack", 1)[1]
    toml = re.search(r"```toml\n(.*?)```", section, re.S)[1]
    module = re.search(r"```python\n(.*?)```", section, re.S)[1]
    entry = next(line for line in toml.splitlines() if line.startswith("faq = "))
    return entry, module


def install(site: Path, name: str, module: str, entry: str) -> None:
    """A real distribution on ``site``: the package and a dist-info folder with its entry points."""
    package = entry.split('"')[1].split(":")[0]
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(module, encoding="utf-8")
    info = site / f"{package}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 0.1.0\n"
    )
    line = entry.replace('"', "")
    (info / "entry_points.txt").write_text(f"[openlora.packs]\n{line}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in [m for m in sys.modules if m.startswith("openlora_pack_")]:
        del sys.modules[name]
    monkeypatch.undo()
    registry.refresh()


def test_the_readme_example_is_discovered_and_used(site, tmp_path):
    entry, module = readme_example()
    install(site, "faq", module, entry)
    found = registry.refresh()
    assert set(found.packs) == BUILT_IN | {"faq"} and not found.broken
    data = tmp_path / "faq.txt"
    data.write_text(FAQ)
    out = tmp_path / "faq.jsonl"
    result = CliRunner().invoke(app, ["import", str(data), "--pack", "faq", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"prompt": "What is LoRA?", "response": "A low-rank adapter."},
                    {"prompt": "Is it small?", "response": "Yes."}]  # fmt: skip
    assert "skipped 1: paragraph 2 (not a 'Q: …' line" in result.output
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["pack"] == "faq" and report["records"] == 2
    listed = CliRunner().invoke(app, ["packs", "list"]).output
    assert "faq 0.1.0 (interface 1)" in listed and "importer faq [.txt]" in listed and "check short" in listed


BROKEN = {
    "faq_import": ("raise ImportError('needs the faq-extras package')\n", "could not be loaded: ImportError"),
    "faq_version": (None, "written for pack interface 99; this OpenLoRA speaks 1"),
}


def test_broken_packs_are_named_and_skipped(site, tmp_path):
    entry, module = readme_example()
    install(site, "a", BROKEN["faq_import"][0], 'faq_import = "openlora_pack_broken_import:PACK"')
    version = module.replace("interface_version=INTERFACE_VERSION", "interface_version=99")
    install(site, "b", version, 'faq_version = "openlora_pack_old:PACK"')
    raising = module.replace("report = ImportReport(source=str(path))", 'raise RuntimeError("disk on fire")')
    install(site, "c", raising, entry.replace("openlora_pack_faq", "openlora_pack_raising"))
    found = registry.refresh()
    assert set(found.packs) == BUILT_IN | {"faq"}
    for name, (_, reason) in BROKEN.items():
        assert reason in found.broken[name].reason
    listed = CliRunner().invoke(app, ["packs", "list"]).output
    assert "faq_import BROKEN" in listed and "faq_version BROKEN" in listed and "siem 1.0.0" in listed
    data = tmp_path / "faq.txt"
    data.write_text(FAQ)
    result = CliRunner().invoke(
        app, ["import", str(data), "--pack", "faq", "--out", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code == 1
    assert "pack 'faq': importer 'faq' raised RuntimeError: disk on fire" in result.output
    refused = CliRunner().invoke(app, ["import", str(data), "--pack", "faq_version", "--out", "x.jsonl"])
    assert refused.exit_code == 1 and "pack 'faq_version' is broken" in refused.output
    log = tmp_path / "a.log"
    log.write_text("Mar  3 10:01:02 h sshd[1]: Failed password for bob from 192.0.2.1 port 22 ssh2\n")
    ok = CliRunner().invoke(app, ["import", str(log), "--pack", "siem", "--out", str(tmp_path / "s.jsonl")])
    assert ok.exit_code == 0 and "siem/logs: 3 records" in ok.output


def test_a_goal_names_a_pack_and_gets_its_defaults():
    goal = Goal.model_validate({"name": "poems", "pack": "verse", "dataset": "x.jsonl"})
    assert goal.task.startswith("Continue poems") and goal.success.val_loss_below == 2.5
    assert goal.evaluation.checks == ["verse.line-structure"]
    own = Goal.model_validate(
        {"name": "p", "pack": "siem", "dataset": "x", "task": "mine", "evaluation": {"checks": []}}
    )
    assert own.task == "mine" and own.evaluation.checks == [] and own.evaluation.samples == 20
    with pytest.raises(ValueError, match=r"pack\n.*no pack 'nope' is installed"):
        Goal.model_validate({"name": "p", "pack": "nope", "dataset": "x", "task": "t",
                             "success": {"val_loss_below": 1}})  # fmt: skip
    with pytest.raises(ValueError, match="no check 'rhyme'"):
        Goal.model_validate({"name": "p", "dataset": "x", "task": "t", "success": {"val_loss_below": 1},
                             "evaluation": {"checks": ["verse.rhyme"]}})  # fmt: skip


def test_pack_checks_join_the_format_checks():
    from openlora.evaluation.engine import FormatChecks

    check = registry.installed().check("verse.line-structure").passes
    checks = FormatChecks(extra=[check, lambda p, o: 1 / 0 > 0])
    assert checks.declared() and not checks.passes("a\nb", "Continue\na\nb")
    assert FormatChecks(extra=[check]).passes("one line\ntwo line", "Continue\nfirst line\nsecond one")
