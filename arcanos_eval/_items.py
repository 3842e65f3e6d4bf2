"""The pytest items of an arcanos-eval run: a suite file's cases, their comparisons, the gates.

Each item asks :class:`~arcanos_eval.session.ArcanosSession` for its answers and for why they failed
(texts from :mod:`arcanos_eval.report.explain`), and follows the outcome policy: under ``gated``
(the default) a failure that a gate judges, and any failing answer of a reference target, is an
xfail naming the gate; ``strict`` fails every failing candidate case.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arcanos_eval._gc import bulk_work
from arcanos_eval.errors import ArcanosError

if TYPE_CHECKING:
    from arcanos_eval.gates import GateSpec
    from arcanos_eval.model import Case, ResultRecord, Suite
    from arcanos_eval.session import ArcanosSession

__all__ = ["CaseItem", "ComparisonItem", "GateItem", "SuiteFile", "selected_calls", "session_key"]

session_key = pytest.StashKey["ArcanosSession"]()
marks_key = pytest.StashKey[dict[str, pytest.MarkDecorator]]()  # category and tag markers
strict_key = pytest.StashKey[bool]()  # outcome policy "strict": every candidate case must pass


_SHOWN_LIMIT = 1000  # characters of an errored call's message shown


def marker_name(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_").lower() or "_"


class CallErrored(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """The model call failed after retries: reported as a pytest *error*, not a failure.

    Raised where the item reads its answers (its setup), it is shown as its message alone: an
    outcome without ``pytrace`` is rendered without a traceback in every phase, where
    :meth:`_ArcanosItem.repr_failure` only covers the call. The message names the target, the
    error class and what the server said (secrets masked: :mod:`arcanos_eval._redact`).
    """

    def __init__(self, message: str) -> None:
        from arcanos_eval._redact import mask

        super().__init__(mask(message, limit=_SHOWN_LIMIT), pytrace=False)

    def __str__(self) -> str:
        return str(self.msg)


class CheckFailed(AssertionError):
    """A case, comparison or gate failed; the message is the rendered explanation."""


def _session(node: pytest.Item | pytest.Collector) -> ArcanosSession:
    return node.config.stash[session_key]


class SuiteFile(pytest.File):
    """A suite file: one item per case x target, and per case a comparison item."""

    def collect(self) -> list[pytest.Item]:
        session = _session(self)
        suite = session.suite_for(self.path)
        if suite is None:
            return []
        items: list[pytest.Item] = []
        with bulk_work():  # thousands of long-lived items: no full collections while they are made
            for case in suite.cases:
                for target in session.target_names:
                    name = f"{case.id}[{target}]"
                    items.append(
                        CaseItem.from_parent(self, name=name, case=case, target=target, suite=suite)
                    )
                if session.comparison is not None:
                    candidate, baseline = session.comparison
                    name = f"{case.id}[{candidate}-vs-{baseline}]"
                    items.append(
                        ComparisonItem.from_parent(
                            self, name=name, case=case, target=candidate, suite=suite
                        )
                    )
        return items


class _ArcanosItem(pytest.Item):
    def __init__(self, *, case: Case, target: str, suite: Suite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case, self.target, self.suite = case, target, suite
        # Markers built once per name: ``pytest.mark.<name>`` checks the registered markers on
        # every lookup, a measurable share of collecting thousands of items.
        known = self.config.stash[marks_key]
        for name in (case.category, *(marker_name(tag) for tag in case.tags)):
            if name not in known:
                known[name] = getattr(pytest.mark, name)
            self.add_marker(known[name])
        self.extra_keyword_matches.update({case.category, *case.tags})

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = (self.case.line - 1) if self.case.line else None
        return self.path, line, f"{self.case.key}[{self.target}]"

    def _records(self, target: str) -> list[ResultRecord]:
        try:
            _session(self).ensure(self.case)
            records = _session(self).records(self.case, target)
        except ArcanosError as exc:
            raise CallErrored(f"the calls of this case could not run: {exc}") from None
        if not records:
            raise CallErrored(f"no answer from {target!r}: the call was not run")
        errored = [r for r in records if r.errored]
        if errored:
            first = errored[0].response
            raise CallErrored(
                f"{target!r} call errored after {first.attempts} attempt(s): {first.error}"
            )
        return records

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (CheckFailed, CallErrored)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _fail_unless_excused(item: _ArcanosItem, failure: str, excuse: str | None) -> None:
    """Under the ``gated`` policy a failure that a gate judges (or a reference target's) is
    reported as xfail with that reason, and the gates decide the session; otherwise it fails."""
    strict = item.config.stash[strict_key] and item.target == _session(item).config.candidate
    if excuse is None or strict:
        raise CheckFailed(failure)
    pytest.xfail(excuse)


class CaseItem(_ArcanosItem):
    """One case answered by one target: passes when every check passes on every repeat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.case.xfail:
            # A known gap: expected to fail on every target; the comparison item still guards
            # against the candidate doing worse than base.
            self.add_marker(pytest.mark.xfail(reason=self.case.xfail, strict=False))

    def setup(self) -> None:
        self.records = self._records(self.target)

    def runtest(self) -> None:
        first = self.records[0]
        self.user_properties.extend(
            [
                ("target", self.target),
                ("origin", first.response.origin),
                ("latency_ms", first.response.latency_ms),
                ("tokens", first.response.usage.total_tokens),
                *((f"score.{s.check}", s.value) for s in first.scores),
            ]
        )
        session = _session(self)
        failure = session.case_failure(self.case, self.target, self.records)
        if failure is not None:
            _fail_unless_excused(
                self, failure, session.excuse(self.case, self.target, self.records)
            )


class ComparisonItem(_ArcanosItem):
    """Candidate against base on one case: fails when the candidate regressed."""

    def setup(self) -> None:
        _, baseline = _session(self).comparison or ("", "")
        self.candidate_records = self._records(self.target)
        self.base_records = self._records(baseline)

    def runtest(self) -> None:
        from arcanos_eval.report.explain import pass_rate

        for name, records in (("candidate", self.candidate_records), ("base", self.base_records)):
            self.user_properties.append((f"{name}_pass_rate", pass_rate(records)))
        session = _session(self)
        failure = session.regression(self.case, self.candidate_records, self.base_records)
        if failure is not None:
            _fail_unless_excused(self, failure, session.regression_excuse(self.case))


class GateItem(pytest.Item):
    """One configured gate, evaluated over every answer of the run."""

    def __init__(self, *, spec: GateSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.add_marker("arcanos_gate")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        from arcanos_eval.session import gate_name

        source = _session(self).config.source or self.config.rootpath
        return source, None, f"arcanos gate {gate_name(self.spec)}"

    def runtest(self) -> None:
        session = _session(self)
        try:
            session.finish()  # a gate judges the whole run
        except ArcanosError as exc:
            raise CallErrored(f"the run could not finish: {exc}") from None
        if session.evaluation is None:
            raise CallErrored("no results to evaluate the gate on: no case was run")
        self.user_properties.extend(
            (r.label, r.measured_text) for r in session.gate_results(self.spec)
        )
        failure = session.gate_failure(self.spec)
        if failure is not None:
            raise CheckFailed(failure)

    repr_failure = _ArcanosItem.repr_failure


def selected_calls(
    items: list[pytest.Item], session: ArcanosSession
) -> set[tuple[str, str]] | None:
    """The (case, target) pairs the selected items read; ``None`` (all) when a gate is selected."""
    if any(isinstance(item, GateItem) for item in items):
        return None
    select: set[tuple[str, str]] = set()
    for item in items:
        if isinstance(item, _ArcanosItem):
            select.add((item.case.key, item.target))
            if isinstance(item, ComparisonItem) and session.comparison is not None:
                select.add((item.case.key, session.comparison[1]))
    return select
