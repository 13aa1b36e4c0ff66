"""The command reference in the repository: every command documented, every example
applies as it is, the JSON Schemas and `ledger commands` follow the models."""

from __future__ import annotations

import json
import re
from typing import Literal, get_origin

import jsonschema
import pytest

from commands import models as m
from commands import reference, schema_export
from commands.parsing import parse
from entrypoints.cli import main as cli_main
from tests.conftest import ROOT, Driver


def test_every_command_has_a_summary_described_fields_and_an_example():
    catalogue = reference.catalogue()
    assert {doc.type for doc in catalogue} == set(reference.COMMAND_MODELS)
    assert set(reference.COMMAND_MODELS.values()) == set(_concrete_commands(m.Command))
    for doc in catalogue:
        assert doc.summary, f"{doc.type}: give {doc.model.__name__} a one-line docstring"
        assert doc.example is not None, f"{doc.type}: add an example to commands/reference.py STORY"
        assert doc.example["type"] == doc.type
        for field in doc.fields:
            assert field.description, f"{doc.type}.{field.name}: give it Field(description=...)"
    for field in reference.common_fields():
        assert field.description, field.name


def _concrete_commands(cls: type[m.Command]) -> list[type[m.Command]]:
    """Every command model (those whose ``type`` is a literal name)."""
    found = []
    for sub in cls.__subclasses__():
        if get_origin(sub.model_fields["type"].annotation) is Literal:
            found.append(sub)
        found += _concrete_commands(sub)
    return found


def test_nested_fields_are_listed_with_their_paths():
    rows = {f.name: f for f in reference.describe("record_payment").fields}
    assert rows["lines"].type == "list of object" and rows["lines"].required
    assert rows["lines[].amount"].type == "decimal string" and rows["lines[].amount"].required
    assert not rows["tax"].required
    assert {"terms.levels.<name>.rate", "terms.payout.minimum"} <= {f.name for f in reference.describe("define_program").fields}
    assert "profile.contact_email" in {f.name for f in reference.describe("submit_application").fields}


def test_the_examples_apply_as_they_are_in_reference_order(ledger: Driver):
    results = ledger.apply(*reference.STORY)
    refused = [(command["type"], result) for command, result in zip(reference.STORY, results, strict=True) if not result["ok"]]
    assert refused == []
    balance = ledger.balance("northwind")
    assert (balance["paid"], balance["due"]) == ("200.00", "8.50")  # the story ends with a payout and a little still due
    order = [doc.type for doc in reference.catalogue()]
    examples = [step for step in reference.STORY if reference.example(step["type"]) is step]
    assert [step["type"] for step in examples] == order


def test_every_refusal_code_in_the_code_is_documented():
    sources = [path.read_text() for folder in ("commands", "ledger") for path in (ROOT / folder).rglob("*.py")]
    pattern = re.compile(r'(?:reject|CommandRejected|Problem)\(\s*"([a-z_]+)"')
    used = {code for text in sources for code in pattern.findall(text)}
    assert used and used <= set(reference.REFUSAL_CODES), used - set(reference.REFUSAL_CODES)


# -- JSON Schemas -----------------------------------------------------------------------


def test_command_schemas_match_the_models():
    problems = schema_export.drift()
    assert problems == [], "commands/schemas/ drifted from the models; run `make schemas`:\n" + "\n".join(problems)


def test_command_schema_drift_is_detected(tmp_path):
    schema_export.write(tmp_path)
    assert schema_export.drift(tmp_path) == []
    target = tmp_path / "record_payment.json"
    target.write_text(target.read_text().replace('"payment_id"', '"payment_ref"'))
    (tmp_path / "gone.json").write_text("{}\n")
    (tmp_path / "close_period.json").unlink()
    assert schema_export.drift(tmp_path) == [
        "missing: close_period.json", "stale (nothing generates it): gone.json", "out of date: record_payment.json",
    ]
    assert schema_export.main(["--check", "--dir", str(tmp_path)]) == 1
    schema_export.main(["--dir", str(tmp_path)])
    assert schema_export.drift(tmp_path) == []


@pytest.mark.parametrize("command_type", sorted(reference.COMMAND_MODELS))
def test_each_schema_is_valid_and_accepts_its_example_and_refuses_unknown_fields(command_type):
    schema = json.loads((schema_export.SCHEMA_DIR / f"{command_type}.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    assert schema["x-command-type"] == command_type
    [sample] = schema["examples"]
    assert list(validator.iter_errors(sample)) == []
    assert parse(sample).type == command_type
    assert list(validator.iter_errors({**sample, "surprise": 1}))


def test_command_schemas_ship_with_the_package():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^commands = \["schemas/\*\.json"\]', pyproject, re.MULTILINE)


# -- ledger commands --------------------------------------------------------------------


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_main(["commands", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_ledger_commands_lists_every_type_with_its_summary_aligned(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [doc.type for doc in reference.catalogue()]
    column = {len(line) - len(line[len(line.split()[0]):].lstrip()) for line in lines}
    assert len(column) == 1  # every summary starts in the same column
    assert "record_payment" in out and reference.describe("record_payment").summary in out


def test_ledger_commands_type_prints_fields_and_an_example_that_applies(capsys, sqlite_ledger: Driver):
    code, out, _ = run(capsys, "record_payment")
    assert code == 0
    assert re.search(r"^  payment_id\s+string\s+required\s+the billing system's id", out, re.MULTILINE)
    assert re.search(r"^  tax\s+decimal string\s+optional", out, re.MULTILINE)
    assert re.search(r"^  at\s+date-time or null\s+optional", out, re.MULTILINE)
    sample = json.loads(out.strip().splitlines()[-1])
    assert sample == reference.example("record_payment")
    before = reference.STORY[: reference.STORY.index(sample)]
    sqlite_ledger.ok(*before)
    sqlite_ledger.ok(sample)


def test_ledger_commands_json(capsys):
    code, out, _ = run(capsys, "--json")
    assert code == 0
    listed = json.loads(out)
    assert [entry["type"] for entry in listed] == [doc.type for doc in reference.catalogue()]
    assert all(entry["summary"] for entry in listed)
    code, out, _ = run(capsys, "record_refund", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["type"] == "record_refund" and document["example"] == reference.example("record_refund")
    assert {"name": "amount", "type": "decimal string", "required": True}.items() <= document["fields"][2].items()


def test_ledger_commands_unknown_type_is_a_clear_error(capsys):
    code, out, err = run(capsys, "record_paymnet")
    assert code == 2 and out == ""
    error = json.loads(err)["error"]
    assert error["code"] == "unknown_type" and "record_paymnet" in error["message"] and "record_payment" in error["message"]
