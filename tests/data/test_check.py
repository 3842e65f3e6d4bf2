"""check_training_data end to end: the shipped example, redaction, usage errors, the report."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from arcanos_eval.data import Allowlist, DataReport, check_training_data
from arcanos_eval.data import check as check_module
from arcanos_eval.errors import ConfigError, UsageError
from tests.data._corpus import GENERATORS, chat_example, clean_examples, sentence_with, write_jsonl

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "training-data"
SUITES = REPO / "suites"


def clean_file(path: Path, count: int = 12, seed: int = 1) -> Path:
    return write_jsonl(path, clean_examples(random.Random(seed), count))


def planted_file(path: Path) -> tuple[Path, list[str]]:
    """A training file with one planted value of every kind (one per line), and a broken line."""
    rng = random.Random("planted")
    values = []
    lines = []
    for kind, generate in sorted(GENERATORS.items()):
        value = generate(rng)
        values.append(value)
        lines.append(json.dumps(chat_example(sentence_with(kind, value, rng), "Thanks, noted.")))
    lines.insert(3, '{"messages": [{"role": "user", "content": "mail me at jane.doe@example.com"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, values


# -- the shipped example -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_report() -> DataReport:
    return check_training_data(
        EXAMPLE / "train.jsonl",
        validation=EXAMPLE / "validation.jsonl",
        against=SUITES,
        allowlist=EXAMPLE / "allowlist.txt",
    )


def test_the_example_reports_exactly_its_planted_problems(example_report: DataReport) -> None:
    errors = {(f.line, f.check, f.kind) for f in example_report.findings if f.severity == "error"}
    assert errors == {
        (32, "pii", "email"),
        (32, "pii", "phone"),
        (40, "pii", "payment_card"),
        (48, "format", "invalid_json"),
        (50, "secret", "aws_access_key"),
        (51, "hygiene", "eval_contamination"),
    }
    warnings = {(f.line, f.kind) for f in example_report.findings if f.severity == "warning"}
    assert warnings == {(37, "near_duplicate")}
    assert example_report.allowlisted == 1  # privacy@arcanos.game in an assistant reply
    assert not example_report.passed
    assert example_report.verdict == (
        "FAIL data is not sanitized: 3 PII findings, 1 secret, 1 format error, "
        f"1 eval-contaminated message in {EXAMPLE / 'train.jsonl'}"
    )
    train, validation = example_report.files
    assert (train.lines, train.examples, train.invalid_lines, train.format) == (80, 79, 1, "chat")
    assert (validation.examples, validation.invalid_lines) == (14, 0)
    assert example_report.against is not None and example_report.against["cases"] > 50


def test_the_shipped_redacted_example_is_what_the_tool_writes(tmp_path: Path) -> None:
    output = tmp_path / "train.redacted.jsonl"
    report = check_training_data(
        EXAMPLE / "train.jsonl", redact_to=output, allowlist=EXAMPLE / "allowlist.txt"
    )
    assert report.redaction == {"path": str(output), "replacements": 4, "lines_changed": 3}
    assert output.read_bytes() == (EXAMPLE / "train.redacted.jsonl").read_bytes()
    rechecked = check_training_data(output, allowlist=EXAMPLE / "allowlist.txt")
    assert rechecked.count("pii") == rechecked.count("secret") == 0
    # Redaction removes values; the broken line is still there for a human to fix.
    assert [f.line for f in rechecked.findings if f.check == "format"] == [48]


def test_reports_never_contain_raw_values(example_report: DataReport) -> None:
    rendered = json.dumps(example_report.to_dict()) + example_report.to_markdown()
    for raw in [
        "lena.brandt@example.com",
        "7946 0321",
        "4111 1111 1111 1111",
        "AKIAIOSFODNN7EXAMPLE",
    ]:
        assert raw not in rendered
    assert "l***@***com" in rendered


# -- redaction -----------------------------------------------------------------------------------


def test_redaction_round_trip_finds_nothing(tmp_path: Path) -> None:
    source, values = planted_file(tmp_path / "train.jsonl")
    output = tmp_path / "out" / "redacted.jsonl"
    output.parent.mkdir()

    report = check_training_data(source, redact_to=output)

    assert report.count("pii") + report.count("secret") >= len(values) + 1
    text = output.read_text(encoding="utf-8")
    assert all(value not in text for value in values)
    for placeholder in ["[EMAIL]", "[PHONE]", "[CARD]", "[IBAN]", "[IP_ADDRESS]", "[US_SSN]",
                        "[UK_NINO]", "[OPENAI_KEY]", "[AWS_KEY]", "[GITHUB_TOKEN]", "[JWT]",
                        "[PRIVATE_KEY]", "[PASSWORD]"]:  # fmt: skip
        assert placeholder in text
    assert len(text.splitlines()) == len(source.read_text().splitlines())
    rechecked = check_training_data(output)
    assert rechecked.count("pii") == rechecked.count("secret") == 0
    assert [f.kind for f in rechecked.findings if f.check == "format"] == ["invalid_json"]
    assert sorted(p.name for p in output.parent.iterdir()) == ["redacted.jsonl"]  # no temp files


def test_redaction_never_overwrites_an_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train = clean_file(tmp_path / "train.jsonl")
    validation = clean_file(tmp_path / "val.jsonl", seed=2)
    before = train.read_bytes()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="refusing to write the redacted copy over an input"):
        check_training_data(train, redact_to="./train.jsonl")
    with pytest.raises(UsageError, match="refusing"):
        check_training_data(
            train, validation=validation, redact_to=tmp_path / "sub" / ".." / "val.jsonl"
        )
    assert train.read_bytes() == before


def test_a_failed_check_leaves_no_partial_redacted_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train = clean_file(tmp_path / "train.jsonl")
    output = tmp_path / "redacted.jsonl"

    def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(check_module._Run, "_check_duplicate", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        check_training_data(train, redact_to=output)
    assert list(tmp_path.iterdir()) == [train]


# -- usage errors --------------------------------------------------------------------------------


def test_usage_errors_are_one_line_and_name_the_path(tmp_path: Path) -> None:
    train = clean_file(tmp_path / "train.jsonl")
    cases: list[tuple[Callable[[], object], type[Exception], str]] = [
        (
            lambda: check_training_data(tmp_path / "missing.jsonl"),
            UsageError,
            "missing.jsonl: no such training file",
        ),
        (
            lambda: check_training_data(tmp_path),
            UsageError,
            "expected a file for the training file",
        ),
        (
            lambda: check_training_data(train, validation=tmp_path / "v.jsonl"),
            UsageError,
            "no such validation file",
        ),
        (lambda: check_training_data(train, epochs=0), ConfigError, "epochs must be a positive"),
        (lambda: check_training_data(train, model="claude"), ConfigError, "unknown model 'claude'"),
        (
            lambda: check_training_data(train, allowlist=tmp_path / "a.txt"),
            UsageError,
            "no such allowlist",
        ),
        (
            lambda: check_training_data(train, against=tmp_path / "suites"),
            UsageError,
            "no such suite",
        ),
        (
            lambda: check_training_data(train, redact_to=tmp_path / "x" / "o.jsonl"),
            UsageError,
            "does not exist",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as caught:
            call()
        assert message in str(caught.value)
        assert "\n" not in str(caught.value)


# -- the report ----------------------------------------------------------------------------------


def test_a_clean_file_passes_and_says_what_was_not_checked(tmp_path: Path) -> None:
    train = write_jsonl(
        tmp_path / "train.jsonl",
        [
            chat_example(
                f"How do I solve the rune lock on floor {n}?", f"Try the {n}th rune first."
            )
            for n in range(12)
        ],
    )
    report = check_training_data(train)
    assert report.passed
    assert report.verdict.startswith(f"PASS data is sanitized: {train} 12 examples, format valid")
    assert "eval contamination not checked" in report.verdict
    with_suites = check_training_data(train, against=SUITES)
    assert "no eval contamination" in with_suites.verdict


def test_json_report_is_self_describing_and_round_trips(example_report: DataReport) -> None:
    data = json.loads(json.dumps(example_report.to_dict()))
    assert data["schema_version"] == 1
    assert data["report"] == "arcanos-eval/data-check"
    assert data["gate"]["name"] == "data_sanitized"
    assert data["gate"]["passed"] is False
    assert data["gate"]["measured"] == {
        "format": 1,
        "tokens": 0,
        "pii": 3,
        "secret": 1,
        "hygiene": 1,
    }
    assert data["settings"]["encoding"] == "o200k_base"
    assert DataReport.from_dict(data) == example_report
    with pytest.raises(ValueError, match="schema_version"):
        DataReport.from_dict({**data, "schema_version": 99})


def test_markdown_report_has_the_gate_tokens_and_findings(example_report: DataReport) -> None:
    markdown = example_report.to_markdown()
    assert markdown.startswith("# Training data check\n\n**FAIL data is not sanitized")
    for heading in [
        "## Gate: data is sanitized",
        "## Tokens",
        "## Eval contamination",
        "## Findings",
    ]:
        assert heading in markdown
    assert "| error      | " in markdown and "messages[1].content" in markdown


def test_findings_are_capped_but_counted_exactly(tmp_path: Path) -> None:
    examples = [chat_example(f"my email is player{n}@example.com", "noted") for n in range(30)]
    report = check_training_data(write_jsonl(tmp_path / "t.jsonl", examples), findings_cap=5)
    assert report.count("pii") == 30
    assert len([f for f in report.findings if f.kind == "email"]) == 5
    assert report.omitted == 25
    assert "and 25 more" in report.to_markdown()


def test_allowlist_objects_are_accepted(tmp_path: Path) -> None:
    examples = [chat_example("write to support@arcanos.game", "ok") for _ in range(10)]
    path = write_jsonl(tmp_path / "t.jsonl", examples)
    report = check_training_data(path, allowlist=Allowlist.from_lines(["support@arcanos.game"]))
    assert report.count("pii") == 0 and report.allowlisted == 10


# -- scale ---------------------------------------------------------------------------------------

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from arcanos_eval.data import check_training_data

    check_training_data(sys.argv[2])  # warm-up: imports, tokenizer tables, detect-secrets plugins
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    report = check_training_data(sys.argv[1])
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "growth_kb": after - before,
                      "examples": report.files[0].examples, "lines": report.files[0].lines}))
    """
)


@pytest.mark.slow  # about a minute: the size is the point, so it runs in the slow lane
def test_a_100k_example_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    count = 100_000
    big = write_jsonl(tmp_path / "big.jsonl", clean_examples(random.Random(3), count))
    small = clean_file(tmp_path / "small.jsonl", count=200)
    # A fresh process, so its peak resident memory is this check's alone (after a warm-up run
    # has loaded the tokenizer tables).
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(big), str(small)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    figures = json.loads(result.stdout)
    size_mb = big.stat().st_size / 2**20
    growth_mb = figures["growth_kb"] / 1024
    print(
        f"\n100k examples ({size_mb:.0f} MB): {figures['seconds']:.1f} s, "
        f"peak memory growth {growth_mb:.0f} MB"
    )
    assert figures["examples"] == figures["lines"] == count
    # Holding the parsed examples would take about four times the file's size; streaming keeps a
    # few hundred bytes per example (token count, fingerprint, MinHash signature).
    assert growth_mb < size_mb * 2
