"""The golden store and the response cache (``arcanos_eval/targets/replay.py``)."""

from __future__ import annotations

from arcanos_eval.run import execute_run
from arcanos_eval.suite.loader import load_suites
from arcanos_eval.targets.replay import GoldenStore
from tests.conftest import simple_cases, write_suite


def test_stores_of_two_processes_add_to_what_the_other_wrote(
    openai_server, make_config, tmp_path, test_key
):
    """pytest-xdist workers each record their share of a suite into one file: a store writing
    its records keeps those another store wrote after it had read the file."""
    suites = load_suites([write_suite(tmp_path / "suites", "demo", simple_cases(4))])
    config = make_config(openai_server.base_url, mode="record")
    execute_run(config, suites, log_path=tmp_path / "rec.jsonl", progress=False)
    recorded = GoldenStore(tmp_path / "golden").records("demo", "base")
    assert len(recorded) == 4

    shared = tmp_path / "shared"
    first, second = GoldenStore(shared), GoldenStore(shared)
    assert first.records("demo", "base") == second.records("demo", "base") == {}  # both read
    halves = sorted(recorded.items())
    for _, record in halves[:2]:
        assert first.put("demo", "base", record, replace_case=True)
    for _, record in halves[2:]:
        assert second.put("demo", "base", record, replace_case=True)
    first.flush()
    second.flush()
    merged = (shared / "demo" / "base.jsonl").read_text()
    assert merged == (tmp_path / "golden" / "demo" / "base.jsonl").read_text()

    # A removal merges the same way: the first store drops one record, the second's stay.
    (dropped, _), (_, record) = halves[0], halves[3]
    assert first.remove("demo", "base", {dropped}) == 1
    assert not second.put("demo", "base", record, replace_case=True), "staged once already"
    second.flush()
    first.flush()
    keys = set(GoldenStore(shared).records("demo", "base"))
    assert keys == {k for k, _ in halves[1:]}
