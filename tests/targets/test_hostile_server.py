"""A hostile OpenAI-protocol server, on the real loopback server: any answer shape is an errored
call with a class (retried as the README says) or a failed check with a reason; NaN never reaches
the run log; keys the server echoes reach no file and no output; a 401 or 403 stops the target."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from arcanos_eval import _redact
from arcanos_eval._jsonl import dump_line
from arcanos_eval.cli import main
from arcanos_eval.config import TargetConfig
from arcanos_eval.model import Case, Response
from arcanos_eval.run import execute_run
from arcanos_eval.runlog import read_run_log
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.targets import openai as openai_target
from arcanos_eval.targets.base import CallFailure, build_request
from arcanos_eval.targets.openai import OpenAITarget
from arcanos_eval.testing import Fault, Reply
from tests.conftest import KEY_ENV, TEST_KEY, loopback_pyproject, simple_cases, write_suite

pytest_plugins = ["pytester"]

FOREIGN_KEY = "sk-proj-Zx9Wv8Ut7Sr6Qp5On4Ml3Kj2Ih1Gf0EdCbA"  # someone else's: masked by its shape


def _completion(message: str, usage: str = '{"prompt_tokens":1,"completion_tokens":1}') -> bytes:
    """A chat completion body with ``message`` as its raw JSON (bare NaN tokens allowed)."""
    return (
        '{"id":"x","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,'
        f'"message":{message},"finish_reason":"stop"}}],"usage":{usage}}}'
    ).encode()


NAN_USAGE = _completion(
    '{"role":"assistant","content":"hi"}', '{"prompt_tokens":NaN,"completion_tokens":Infinity}'
)
OBJECT_ARGUMENTS = _completion(
    '{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function",'
    '"function":{"name":"f","arguments":{"x":NaN}}}]}'
)
LONE_SURROGATE = _completion('{"role":"assistant","content":"half a pair: \\ud800"}')
ERROR_OBJECT = {"error": {"message": f"overloaded, key {FOREIGN_KEY}", "type": "server_error"}}

M = "malformed_response"
# Each answer shape a server may send with status 200: its class when the answer is a plain body,
# and when it is streamed (the body then comes as the stream's one event).
SHAPES: dict[str, tuple[Fault, str, str | None]] = {
    "content-number": (Fault.content(42), M, M),
    "content-object": (Fault.content({"a": 1}), M, M),
    "content-list": (Fault.content(["a"]), M, M),
    "content-bool": (Fault.content(True), M, M),
    # Streamed, null deltas carry no text: an empty answer, failed by checks with a reason.
    "content-null": (Fault.content(None), M, None),
    "no-choices": (Fault.body({"id": "x", "object": "chat.completion"}), M, "truncated_stream"),
    "empty-choices": (Fault.body({"id": "x", "choices": []}), M, "truncated_stream"),
    "wrong-shape": (Fault.body([1, 2, 3]), M, "truncated_stream"),
    "choices-not-a-list": (Fault.body({"choices": "none"}), M, M),
    "message-not-an-object": (Fault.body({"choices": [{"message": "hi"}]}), M, M),
    "not-json": (Fault.body(b"<html>502 Bad Gateway</html>"), M, M),
    "error-object": (Fault.body(ERROR_OBJECT), M, "stream_error"),
    "nan-usage": (Fault.body(NAN_USAGE), M, M),
    "object-arguments": (Fault.body(OBJECT_ARGUMENTS), M, M),
    "lone-surrogate": (Fault.body(LONE_SURROGATE), M, M),
}
CLASSES = {"malformed_response", "truncated_stream", "stream_error"}


def _case(text: str = "hello there") -> Case:
    return Case(
        id="c", suite_id="s", category="happy_path", messages=({"role": "user", "content": text},)
    )


def _complete(config: TargetConfig, case: Case | None = None) -> Response:
    async def go() -> Response:
        target = OpenAITarget(config, timeout_s=5)
        try:
            return await target.complete(build_request(config, case or _case()))
        finally:
            await target.aclose()

    return asyncio.run(go())


def _config(base_url: str, **fields: Any) -> TargetConfig:
    return TargetConfig(name="t", model="m", base_url=base_url, api_key_env=KEY_ENV, **fields)


# --------------------------------------------------------------------------- every answer shape


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_answer_shape_is_a_classified_failure(openai_server, test_key, shape, stream):
    fault, plain, streamed = SHAPES[shape]
    expected = streamed if stream else plain
    openai_server.faults[1] = fault
    config = _config(openai_server.base_url, stream=stream)
    if expected is None:
        response = _complete(config)
        assert not response.errored and response.text == ""
        return
    with pytest.raises(CallFailure) as info:
        _complete(config)
    assert (info.value.kind, info.value.retryable) == (expected, True)
    assert FOREIGN_KEY not in info.value.message


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("value", [42, {"a": 1}, ["a"], False, None])
def test_responses_api_text_that_is_not_text_is_malformed(openai_server, test_key, value, stream):
    openai_server.faults[1] = Fault.content(value)
    with pytest.raises(CallFailure) as info:
        _complete(_config(openai_server.base_url, api="responses", stream=stream))
    assert (info.value.kind, info.value.retryable) == (M, True)
    assert "expected text" in info.value.message


def test_an_error_object_inside_a_responses_stream_is_retryable(openai_server, test_key):
    openai_server.faults[1] = Fault.body(ERROR_OBJECT)
    with pytest.raises(CallFailure) as info:
        _complete(_config(openai_server.base_url, api="responses", stream=True))
    assert (info.value.kind, info.value.retryable) == ("stream_error", True)


def test_a_refusal_without_content_is_the_answer(openai_server, test_key):
    refusal = _completion('{"role":"assistant","content":null,"refusal":"I cannot help."}')
    openai_server.faults[1] = Fault.body(refusal)
    assert _complete(_config(openai_server.base_url)).text == "I cannot help."


def test_an_answer_larger_than_the_bound_is_errored_and_not_retried(
    openai_server, test_key, monkeypatch
):
    monkeypatch.setattr(openai_target, "_MAX_ANSWER_CHARS", 1000)
    openai_server.replies["hello there"] = Reply(text="word " * 400)
    for stream in (False, True):
        with pytest.raises(CallFailure) as info:
            _complete(_config(openai_server.base_url, stream=stream))
        assert (info.value.kind, info.value.retryable) == ("answer_too_large", False)


def _suite_run(
    tmp_path: Path, make_config: Any, url: str, cases: list[dict[str, Any]], **fields: Any
):  # type: ignore[no-untyped-def]
    suites = load_suites([write_suite(tmp_path / "suites", "demo", cases)])
    config = make_config(url, targets={"candidate": fields}, max_retries=2)
    return execute_run(config, suites, log_path=tmp_path / "run.jsonl", progress=False)


def test_a_malformed_answer_is_retried_as_the_readme_says(
    openai_server, make_config, tmp_path, test_key
):
    # Request 1 is malformed, its retry is answered: the case passes on the second attempt.
    # Request 2 (the other case) and its retries are always malformed: errored after 3 attempts.
    openai_server.replies["question number 1"] = Reply.failing(Fault.content(7))
    openai_server.faults[1] = Fault.content([1])
    outcome = _suite_run(tmp_path, make_config, openai_server.base_url, simple_cases(2))
    records = {r.case_id: r for r in outcome.log.records()}
    first_answer = next(r for r in openai_server.requests if r.fault == "content")
    assert records["case-0"].passed and records["case-0"].response.attempts == 2, first_answer
    assert records["case-1"].response.error_type == M
    assert records["case-1"].response.attempts == 3
    assert openai_server.total_requests == 5


# --------------------------------------------------------------------------- NaN


def _strictly_json(path: Path) -> list[dict[str, Any]]:
    def refuse(token: str) -> None:
        pytest.fail(f"a bare {token} in {path.name}")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def test_nan_from_a_server_never_reaches_the_run_log(
    openai_server, make_config, tmp_path, test_key
):
    cases = [
        {"id": "nan-text", "input": "score it", "checks": [{"json": {"score": 1}}]},
        {"id": "nan-usage", "input": "count it", "checks": ["refusal"]},
        {"id": "nan-arguments", "input": "call it", "checks": [{"tool_call": {"name": "f"}}]},
    ]
    openai_server.replies.update(
        {
            "score it": Reply(text='{"score": NaN}'),
            "count it": Reply.failing(Fault.body(NAN_USAGE)),
            "call it": Reply.tool("f", '{"x": Infinity}'),
        }
    )
    outcome = _suite_run(tmp_path, make_config, openai_server.base_url, cases)
    _strictly_json(tmp_path / "run.jsonl")
    records = {r.case_id: r for r in outcome.log.records()}
    reason = records["nan-text"].scores[0].reason
    assert not records["nan-text"].passed and "NaN is not a JSON number" in reason, reason
    assert records["nan-usage"].response.error_type == M
    assert "usage.prompt_tokens is a number (nan)" in str(records["nan-usage"].response.error)
    called = records["nan-arguments"]
    assert called.response.tool_calls[0].arguments == '{"x": Infinity}'  # the model's text, kept


# --------------------------------------------------------------------------- secrets and 401


def _project(
    root: Path,
    base: str,
    candidate: str,
    cases: list[dict[str, Any]],
    *,
    retries: int = 0,
    stream: bool = False,
) -> Path:
    (root / "pyproject.toml").write_text(
        loopback_pyproject(
            base,
            candidate_url=candidate,
            settings=f"max_retries = {retries}",
            candidate=f"stream = {str(stream).lower()}\nconcurrency = 1",
            pass_rate=0.5,
        )
    )
    write_suite(root / "suites", "demo", cases)
    return root


def _files_holding(root: Path, secret: str) -> list[str]:
    return [
        str(p.relative_to(root))
        for p in sorted(root.rglob("*"))
        if p.is_file() and secret.encode() in p.read_bytes()
    ]


@pytest.mark.parametrize(
    ("status", "what"), [(401, "authentication failed"), (403, "access denied")]
)
def test_a_refused_key_stops_the_target_with_one_line_and_exit_3(
    openai_server_factory, tmp_path, monkeypatch, capsys, test_key, status, what
):
    base = openai_server_factory()
    refusing = openai_server_factory(
        responder=lambda request: Reply.failing(
            Fault.http_status(status, f"Incorrect API key provided: {TEST_KEY}.")
        )
    )
    _project(tmp_path, base.base_url, refusing.base_url, simple_cases(6), retries=3)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--mode", "live", "-q", "--log", "run.jsonl", "--report", "r.md"])
    err = capsys.readouterr().err
    assert code == 3
    line = f"target 'candidate': {what} ({status}) — check {KEY_ENV}"
    assert err.splitlines() == [f"arcanos-eval: error: {line}"]
    assert refusing.total_requests == 1  # not retried, and no further call to that target
    assert base.total_requests == 6
    log = read_run_log(tmp_path / "run.jsonl")
    classes = Counter(r.response.error_type for r in log.records() if r.target == "candidate")
    assert classes == {f"http_{status}": 1, "target_stopped": 5}  # errored, none lost
    assert all(r.passed for r in log.records() if r.target == "base")
    assert "PROMOTE" not in (tmp_path / "r.md").read_text()
    assert _files_holding(tmp_path, TEST_KEY) == []


def test_a_grader_whose_key_is_refused_is_named_and_the_run_exits_3(
    openai_server_factory, tmp_path, monkeypatch, capsys, test_key
):
    answers = openai_server_factory()
    refusing = openai_server_factory(
        responder=lambda request: Reply.failing(Fault.http_status(401, "Incorrect API key."))
    )
    cases = [
        {
            "id": f"graded-{i}",
            "input": f"question {i}",
            "checks": [{"moderation": {"target": "judge"}}],
        }
        for i in range(3)
    ]
    _project(tmp_path, answers.base_url, answers.base_url, cases)
    with (tmp_path / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write(
            f'\n[tool.arcanos_eval.targets.judge]\nmodel = "model-judge"\n'
            f'base_url = "{refusing.base_url}"\napi_key_env = "{KEY_ENV}"\n'
            "scorer_only = true\ncheck_model = false\n"
        )
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--mode", "live", "-q", "--log", "run.jsonl"])
    err = capsys.readouterr().err
    # Its checks could not be graded: the evidence is missing (3), and the line says whose key.
    assert code == 3, err
    assert (
        f"arcanos-eval: error: target 'judge': authentication failed (401) — check {KEY_ENV}"
        in (err.splitlines())
    )
    # Only calibration items reached the grader (those sent before the first refusal came
    # back); its checks of the answers were not asked.
    asked = [r.body["messages"][-1]["content"] for r in refusing.requests]
    assert 1 <= len(asked) <= 10
    assert not any("question" in text for text in asked), asked


def test_keys_a_server_echoes_reach_no_file_and_no_output(
    openai_server_factory, tmp_path, monkeypatch, capsys, test_key
):
    def echoing(request: Any) -> Reply:
        if request.prompt == "question number 1":
            said = f"upstream refused {TEST_KEY}; also tried {FOREIGN_KEY} (Bearer {FOREIGN_KEY})"
            return Reply.failing(Fault.http_status(500, said))
        return Reply(text=request.prompt)

    base = openai_server_factory(responder=echoing)
    refusing = openai_server_factory(
        responder=lambda request: Reply.failing(
            Fault.http_status(401, f"Incorrect API key provided: {TEST_KEY}.")
        )
    )
    _project(tmp_path, base.base_url, refusing.base_url, simple_cases(3))
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "run",
            "--mode",
            "live",
            "-q",
            "--log",
            "run.jsonl",
            "--report",
            "r.md",
            "--json",
            "r.json",
        ]
    )
    assert code == 3
    assert main(["report", "run.jsonl", "--output", "again.md"]) in (1, 3)
    out, err = capsys.readouterr()
    for secret in (TEST_KEY, FOREIGN_KEY):
        assert secret not in out + err
        assert _files_holding(tmp_path, secret) == []
    log = (tmp_path / "run.jsonl").read_text()
    assert f"Incorrect API key provided: [value of {KEY_ENV}]" in log  # the message is kept
    assert "also tried [OPENAI_KEY] (Bearer [OPENAI_KEY])" in log


def test_a_configured_key_reaches_no_file_even_inside_an_answer(
    openai_server, make_config, tmp_path, test_key
):
    openai_server.replies["question number 0"] = Reply(text=f"your key is {TEST_KEY}")
    outcome = _suite_run(tmp_path, make_config, openai_server.base_url, simple_cases(1))
    assert outcome.log.records()[0].response.text == f"your key is [value of {KEY_ENV}]"
    assert _files_holding(tmp_path, TEST_KEY) == []


class _EchoingTarget:
    """A target of one's own (not the OpenAI one) whose failures quote keys: the engine masks
    what any target says."""

    def __init__(self, config: TargetConfig) -> None:
        self.config = config

    endpoint = "custom://echo"

    async def complete(self, request: Any) -> Response:
        raise CallFailure("http_400", f"refused {TEST_KEY} and {FOREIGN_KEY}", retryable=False)

    async def aclose(self) -> None:
        pass


def test_the_engine_masks_what_any_target_says(make_config, tmp_path, test_key):
    suites = load_suites([write_suite(tmp_path / "suites", "demo", simple_cases(1))])
    config = make_config(None, targets={"candidate": {}})
    targets = {"candidate": _EchoingTarget(config.targets["candidate"])}
    outcome = execute_run(
        config, suites, log_path=tmp_path / "run.jsonl", targets=targets, progress=False
    )
    error = outcome.log.records()[0].response.error
    assert error == f"http_400: refused [value of {KEY_ENV}] and [OPENAI_KEY]"
    assert _files_holding(tmp_path, TEST_KEY) == [] and _files_holding(tmp_path, FOREIGN_KEY) == []


def test_every_line_written_masks_configured_key_values(test_key):
    _redact.watch_key_env(KEY_ENV)
    line = dump_line({"note": f"pasted {TEST_KEY} here", "nested": [{"k": TEST_KEY}]})
    assert TEST_KEY not in line and line.count(f"[value of {KEY_ENV}]") == 2
    json.loads(line)


def test_masking_covers_key_shapes_and_configured_values(test_key):
    said = f"got {TEST_KEY}, {FOREIGN_KEY}, Bearer abcDEF123456ghiJKL and AKIAIOSFODNN7EXAMPLE"
    masked = _redact.mask(said, limit=300)
    assert masked == (f"got [value of {KEY_ENV}], [OPENAI_KEY], Bearer [REDACTED] and [AWS_KEY]")
    assert _redact.mask("request timed out after 5 s (model gpt-4.1)") == (
        "request timed out after 5 s (model gpt-4.1)"
    )
    # Masked before it is cut: a key across the cut leaves no prefix behind.
    cut = _redact.mask("x" * 290 + " " + FOREIGN_KEY, limit=300)
    assert "sk-proj" not in cut and cut.startswith("x" * 290)


# --------------------------------------------------------------------------- pytest's output


def test_an_errored_call_is_a_short_pytest_error_without_traceback_or_key(
    pytester, openai_server, test_key
):
    said = f"upstream failed with key {TEST_KEY} and {FOREIGN_KEY}"
    openai_server.responder = lambda request: Reply.failing(Fault.http_status(500, said))
    pytester.makefile(
        ".toml",
        pyproject=loopback_pyproject(
            openai_server.base_url, settings="max_retries = 0", pass_rate=0.5
        ),
    )
    write_suite(pytester.path / "suites", "demo", simple_cases(3))
    result = pytester.runpytest(
        "--arcanos-suite", "suites", "--arcanos-mode", "live", "--junitxml", "junit.xml"
    )
    result.assert_outcomes(errors=9, failed=1)  # 6 case items, 3 comparisons; the gate fails
    text = result.stdout.str() + result.stderr.str()
    sections = text.split("ERROR at setup of")[1:]
    assert len(sections) == 9
    for section in sections:
        body = section.split("\n_")[0].split("\n=")[0].strip().splitlines()
        assert len(body) <= 2, body  # the header's rest and one line: target, class, message
    assert "call errored after 1 attempt(s): http_500: Error code: 500 - upstream failed" in text
    assert "Traceback" not in text and "arcanos_eval/" not in text
    assert len(text.splitlines()) < 80
    assert TEST_KEY not in text and FOREIGN_KEY not in text
    assert _files_holding(pytester.path, TEST_KEY) == []
    assert _files_holding(pytester.path, FOREIGN_KEY) == []
    assert "[value of" in (pytester.path / "junit.xml").read_text()


# --------------------------------------------------------------------------- the hostile run

ROTATION = [
    Fault.http_status(500, f"upstream echoed {TEST_KEY} and {FOREIGN_KEY}"),
    *(fault for fault, _, _ in SHAPES.values()),
]


def test_a_hostile_server_loses_no_case_crashes_nothing_and_leaks_no_key(
    openai_server, tmp_path, monkeypatch, capsys, test_key
):
    # 40 cases, both targets on one server; every fifth case of each target answered with the
    # next fault of the rotation (20% of the calls), the base as a body, the candidate streamed.
    faulty: dict[tuple[str, str], Fault] = {}
    for number in range(40):
        for model, offset in (("model-base", 0), ("model-candidate", 2)):
            if number % 5 == offset:
                fault = ROTATION[len(faulty) % len(ROTATION)]
                faulty[(model, f"question number {number}")] = fault
                openai_server.replies[(model, f"question number {number}")] = Reply.failing(fault)
    assert len(faulty) == 16 and set(faulty.values()) == set(ROTATION)  # every fault once
    url = openai_server.base_url
    _project(tmp_path, url, url, simple_cases(40), retries=1, stream=True)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--mode", "live", "-q", "--log", "run.jsonl", "--report", "r.md"])
    assert code in (1, 3)  # a verdict: no crash (exit 2 or an exception)
    assert main(["report", "run.jsonl", "--json", "again.json"]) == code

    records = {
        (r.response.model or "", r.case_id, r.target): r
        for r in read_run_log(tmp_path / "run.jsonl").records()
    }
    assert {(r.case_id, r.target) for r in records.values()} == {
        (f"case-{n}", t) for n in range(40) for t in ("base", "candidate")
    }  # 0 lost
    classes: Counter[str] = Counter()
    for record in records.values():
        model = f"model-{record.target}"
        fault = faulty.get((model, f"question number {record.case_id.split('-')[1]}"))
        if fault is None:
            assert record.passed, record
        elif record.errored:
            classes[str(record.response.error_type)] += 1
            assert record.response.error_type in CLASSES | {"http_500"}
        else:  # a failed check with a reason: an empty streamed answer
            assert not record.passed and all(s.reason for s in record.scores if not s.passed)
    # Every faulty call errored, but a streamed null text, which is an empty answer.
    empty = [
        m for (m, _), f in faulty.items() if m == "model-candidate" and f == Fault.content(None)
    ]
    assert sum(classes.values()) == len(faulty) - len(empty), classes
    out, err = capsys.readouterr()
    for secret in (TEST_KEY, FOREIGN_KEY):
        assert secret not in out + err
        assert _files_holding(tmp_path, secret) == []
    _strictly_json(tmp_path / "run.jsonl")
    assert not any(math.isnan(r.response.latency_ms or 0) for r in records.values())
