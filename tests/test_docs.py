"""The documentation stands alone and follows the code: docs/commands.md and the
README's settings table are generated from the models, and a test keeps them current."""

from __future__ import annotations

import re
import shutil

import pytest

from commands import reference
from entrypoints import docs
from entrypoints.settings import Settings, documented
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_generated_docs_are_current():
    problems = docs.drift()
    assert problems == [], "docs drifted from the models; run `make docs`:\n" + "\n".join(problems)


def test_drift_is_detected_and_fixed(tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    assert docs.drift(tmp_path) == ["missing: docs/commands.md"]
    assert docs.main(["--dir", str(tmp_path)]) == 0
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("| `LEDGER_LOG_LEVEL` | `WARNING` |", "| `LEDGER_LOG_LEVEL` | `DEBUG` |"))
    assert docs.main(["--check", "--dir", str(tmp_path)]) == 1


def test_the_readme_keeps_its_settings_markers():
    with pytest.raises(ValueError, match="settings markers"):
        docs.readme_with_settings("# A README without the markers\n")


def test_every_setting_is_in_the_readme_with_its_default():
    readme = (ROOT / "README.md").read_text()
    for variable, default, meaning in documented():
        assert meaning, variable
        row = re.search(rf"^\| `{variable}` \| (.*?) \| (.*) \|$", readme, re.MULTILINE)
        assert row, variable
        assert row.group(1) == (f"`{default}`" if default else "(none)")
    assert len(documented()) == len(Settings.model_fields)


def test_every_setting_named_in_the_docs_exists():
    known = {variable for variable, _, _ in documented()} | {"LEDGER_TEST_PG"}  # the tests' own database
    for path in DOCS:
        named = set(re.findall(r"\bLEDGER_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
        assert named <= known, (path.name, named - known)


def test_the_repository_stands_alone():
    for path in DOCS:
        text = path.read_text()
        assert "../shared" not in text and "DESIGN.md" not in text, path.name
    readme = (ROOT / "README.md").read_text()
    assert "(docs/commands.md)" in readme and "(docs/architecture.md)" in readme


def test_every_local_link_and_image_in_the_docs_exists():
    """Links and pictures (the dashboards' screenshots) point at files of the repository."""
    missing = []
    for path in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if "://" not in target and not target.startswith("mailto:") and not (path.parent / target).exists():
                missing.append(f"{path.name}: {target}")
    assert missing == []


def test_the_command_reference_documents_every_command_and_refusal_code():
    text = (ROOT / docs.COMMANDS_DOC).read_text()
    for doc in reference.catalogue():
        assert f"\n## {doc.type}\n\n{doc.summary}\n" in text
        assert f"(#{doc.type})" in text  # in the table of contents
        for field in doc.fields:
            assert f"| `{field.name}` |" in text
    for code in reference.REFUSAL_CODES:
        assert f"| `{code}` |" in text
    assert '"errors": [' in text and '"field": "lines.0.amount"' in text
