"""``arcanos-eval data check``: parser, output, exit statuses and report files."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pytest

from arcanos_eval.cli import main
from arcanos_eval.data.cli import add_parser
from tests.data._corpus import chat_example, clean_examples, write_jsonl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "training-data"


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="arcanos-eval")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.handler(args)
    return status


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "train.jsonl",
        [
            chat_example(
                f"Which tool solves the rune lock on floor {n}?", f"The cipher tool, floor {n}."
            )
            for n in range(12)
        ],
    )


def test_parser_accepts_every_option(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="arcanos-eval")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["data", "check", "t.jsonl", "--validation", "v.jsonl", "--against", "suites",
         "--redact-to", "o.jsonl", "--report", "r.md", "--json", "r.json", "--model", "gpt-4o",
         "--epochs", "5", "--allowlist", "a.txt"]
    )  # fmt: skip
    assert (args.command, args.data_command, args.train, args.validation, args.against) == (
        "data", "check", "t.jsonl", "v.jsonl", "suites",
    )  # fmt: skip
    assert (args.redact_to, args.report, args.json, args.model, args.epochs, args.allowlist) == (
        "o.jsonl", "r.md", "r.json", "gpt-4o", 5, "a.txt",
    )  # fmt: skip
    defaults = parser.parse_args(["data", "check", "t.jsonl"])
    assert (defaults.model, defaults.epochs, defaults.validation) == ("gpt-4.1", 3, None)


def test_clean_data_exits_0_with_table_and_verdict(
    clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["data", "check", str(clean)]) == 0
    out = capsys.readouterr().out
    assert "check      errors    warnings" in out
    assert out.rstrip().splitlines()[-1].startswith("PASS data is sanitized")


def test_findings_exit_1_and_reports_are_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_md, report_json, redacted = tmp_path / "r.md", tmp_path / "r.json", tmp_path / "o.jsonl"
    status = run(
        ["data", "check", str(EXAMPLE / "train.jsonl"), "--validation", str(EXAMPLE / "validation.jsonl"),
         "--against", str(EXAMPLE.parents[1] / "suites"), "--allowlist", str(EXAMPLE / "allowlist.txt"),
         "--report", str(report_md), "--json", str(report_json), "--redact-to", str(redacted)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 1
    assert "pii/payment_card" in out and "***1111" in out and "4111 1111" not in out
    assert f"redacted copy: {redacted} (4 values replaced)" in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL data is not sanitized: 3 PII findings")
    assert report_md.read_text().startswith("# Training data check")
    data = json.loads(report_json.read_text())
    assert data["schema_version"] == 1 and data["passed"] is False
    assert redacted.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "check", "missing.jsonl"], "missing.jsonl: no such training file"),
        (
            ["data", "check", "{train}", "--redact-to", "{train}"],
            "refusing to write the redacted copy",
        ),
        (
            ["data", "check", "{train}", "--report", "{train}"],
            "refusing to write a report over an input",
        ),
        (["data", "check", "{train}", "--model", "llama"], "unknown model 'llama'"),
        (["data", "check", "{train}", "--epochs", "0"], "epochs must be a positive"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = clean.read_bytes()
    status = run([part.format(train=clean) for part in argv])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arcanos-eval data check: error: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err
    assert clean.read_bytes() == before


def test_unwritable_report_is_a_usage_error(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["data", "check", str(clean), "--json", str(tmp_path / "no" / "r.json")]) == 2
    assert "cannot write the report" in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["data"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "check", "t.jsonl", "--epochs", "many"])
    assert exit_info.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["data", "check", "--help"])
    out = capsys.readouterr().out
    for option in [
        "--validation",
        "--against",
        "--redact-to",
        "--report",
        "--json",
        "--model",
        "--epochs",
        "--allowlist",
    ]:
        assert option in out


def test_long_finding_lists_are_summarised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = list(clean_examples(random.Random(4), 10))
    examples += [chat_example(f"reach me at p{n}@example.com", "ok") for n in range(30)]
    assert main(["data", "check", str(write_jsonl(tmp_path / "t.jsonl", examples))]) == 1
    out = capsys.readouterr().out
    assert "more findings (write them with --report or --json)" in out


def test_the_release_report_shows_the_example_data_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_json, report = tmp_path / "data.json", tmp_path / "report.md"
    run(["data", "check", str(EXAMPLE / "train.jsonl"), "--allowlist",
         str(EXAMPLE / "allowlist.txt"), "--json", str(data_json)])  # fmt: skip
    verdict = json.loads(data_json.read_text())["verdict"]
    assert verdict.startswith("FAIL data is not sanitized")
    run_log = Path(__file__).resolve().parents[1] / "report" / "fixtures" / "release_next.jsonl"
    status = main(["report", str(run_log), "--data-report", str(data_json), "-o", str(report)])
    assert status == 1  # the planted PII and secret hold the release
    row = next(line for line in report.read_text().splitlines() if "Data is sanitized" in line)
    assert "❌ fail" in row and verdict[:40] in row
