"""``schema diff OLD NEW``: the table, the exit statuses (0 compatible, 1 breaking, 2 usage error)
and the JSON output, through a parser built the way the main CLI builds it."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from arcanos_eval.contracts.cli import add_parser
from arcanos_eval.errors import ArcanosError

OLD = {
    "type": "object",
    "required": ["action", "reply"],
    "additionalProperties": False,
    "properties": {
        "action": {"enum": ["answer", "refuse"]},
        "reply": {"type": "string", "maxLength": 400},
    },
}


def run(argv: list[str]) -> int:
    """What ``arcanos-eval`` does: parse, call the handler, a usage error is status 2."""
    parser = argparse.ArgumentParser(prog="arcanos-eval")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except ArcanosError as exc:
        print(f"arcanos-eval: error: {exc}")
        return 2
    return status


def write(folder: Path, name: str, schema: Any) -> str:
    path = folder / name
    text = yaml.safe_dump(schema) if name.endswith((".yaml", ".yml")) else json.dumps(schema)
    path.write_text(text, encoding="utf-8")
    return str(path)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.fixture
def old(tmp_path: Path) -> str:
    return write(tmp_path, "reply.v1.json", OLD)


def test_breaking_change_exits_1_with_a_table_and_a_counterexample(tmp_path, old, capsys):
    new = copy.deepcopy(OLD)
    new["properties"]["action"]["enum"].append("defer")
    assert run(["schema", "diff", old, write(tmp_path, "reply.v2.yaml", new)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert cells(lines[0]) == ["path", "change", "verdict", "reason", "counterexample"]
    assert cells(lines[2]) == [
        "$.properties.action",
        "enum_value_added",
        "breaking",
        'new value(s) "defer": clients written against the old schema do not know them',
        '{"action":"defer","reply":""}',
    ]
    assert lines[-1].endswith(
        "reply.v2.yaml: 1 breaking, 0 compatible change(s): BREAKING for clients of OLD."
    )


def test_compatible_change_exits_0(tmp_path, old, capsys):
    new = copy.deepcopy(OLD)
    new["properties"]["reply"]["maxLength"] = 200
    assert run(["schema", "diff", old, write(tmp_path, "reply.v2.json", new)]) == 0
    out = capsys.readouterr().out
    assert "| $.properties.reply | max_length_tightened | compatible |" in out
    assert out.rstrip().endswith("1 compatible change(s): compatible.")


def test_identical_schemas(tmp_path, old, capsys):
    assert run(["schema", "diff", old, write(tmp_path, "same.yml", OLD)]) == 0
    assert capsys.readouterr().out.strip().endswith(": no differences.")


def test_breaking_only_and_json(tmp_path, old, capsys):
    new = copy.deepcopy(OLD)
    new["required"] = ["action"]
    new["properties"]["reply"]["maxLength"] = 200
    path = write(tmp_path, "reply.v2.json", new)
    assert run(["schema", "diff", old, path, "--breaking-only", "--examples", "30"]) == 1
    out = capsys.readouterr().out
    assert "required_removed" in out and "max_length_tightened" not in out
    assert run(["schema", "diff", old, path, "--json", "--seed", "1", "--examples", "30"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["breaking"] is True and document["seed"] == 1
    assert [(f["kind"], f["breaking"]) for f in document["findings"]] == [
        ("max_length_tightened", False),
        ("required_removed", True),
    ]
    assert document["findings"][1]["counterexample"] == {"action": "answer"}


def test_usage_errors_exit_2(tmp_path, old, capsys):
    assert run(["schema", "diff", old, str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().out.strip() == (
        f"arcanos-eval: error: {tmp_path / 'missing.json'}: schema file not found"
    )
    assert run(["schema", "diff", old, write(tmp_path, "bad.json", {"type": "objekt"})]) == 2
    assert "bad.json: not a valid JSON Schema at type:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        run(["schema", "diff", old, old, "--examples", "-3"])
    assert exited.value.code == 2
    assert "expected a number >= 0, found -3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(["schema", "diff", old])
