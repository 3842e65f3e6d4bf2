"""The committed run logs are exactly what ``tests/report/fixtures/build.py`` writes."""

from __future__ import annotations

from tests.report.conftest import FIXTURES
from tests.report.fixtures.build import build


def test_fixture_logs_are_reproducible(tmp_path):
    written = build(tmp_path)
    assert [p.name for p in written] == ["release.jsonl", "release_next.jsonl", "degraded.jsonl"]
    for path in written:
        assert path.read_bytes() == (FIXTURES / path.name).read_bytes(), path.name
