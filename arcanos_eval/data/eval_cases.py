"""Read the user texts of evaluation suites, for the contamination check.

Only what contamination needs is read: each case's ``input`` string or the ``content`` of its
``user`` messages. Suites are YAML, JSON, or JSONL (first line the suite header, every further
line a case). Files without ``cases`` (JSON Schemas next to the suites, for instance) are skipped.
Full validation of suites is the suite loader's job, not this module's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arcanos_eval.data.hygiene import EvalCase
from arcanos_eval.errors import UsageError
from arcanos_eval.suite.loader import read_suite_document

__all__ = ["SUITE_SUFFIXES", "EvalSet", "read_eval_cases"]

SUITE_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")


@dataclass(frozen=True)
class EvalSet:
    """Eval case texts and the suite files they came from."""

    files: tuple[str, ...]
    cases: tuple[EvalCase, ...]

    @property
    def case_count(self) -> int:
        """Distinct cases (a multi-turn case contributes one text per user message)."""
        return len({case.key for case in self.cases})


def read_eval_cases(path: str | os.PathLike[str]) -> EvalSet:
    """Read every suite file at ``path`` (a file, or a folder searched recursively).

    Raises:
        UsageError: ``path`` does not exist.
        SuiteError: a suite file is not valid YAML/JSON (the message names file and line).
    """
    root = Path(path)
    if not root.exists():
        raise UsageError(f"{root}: no such suite file or folder (expected for --against)")
    files = (
        sorted(p for p in root.rglob("*") if p.suffix in SUITE_SUFFIXES and p.is_file())
        if root.is_dir()
        else [root]
    )
    read: list[str] = []
    cases: list[EvalCase] = []
    for file in files:
        found = list(_cases_of_file(file))
        if found:
            read.append(str(file))
            cases.extend(found)
    return EvalSet(tuple(read), tuple(cases))


def _cases_of_file(path: Path) -> Iterator[EvalCase]:
    document = read_suite_document(path)  # the suite loader's bounds: size, nesting, aliases
    if not isinstance(document, Mapping) or not isinstance(document.get("cases"), list):
        return
    raw_cases = document["cases"]
    suite_id = _suite_id(document, path)
    for index, case in enumerate(raw_cases):
        if not isinstance(case, Mapping):
            continue
        key = f"{suite_id}::{case.get('id', f'#{index + 1}')}"
        for text in _user_texts(case):
            yield EvalCase(key, str(path), text)


def _suite_id(header: Any, path: Path) -> str:
    if isinstance(header, Mapping) and header.get("id") is not None:
        return str(header["id"])
    return path.stem


def _user_texts(case: Mapping[str, Any]) -> Iterator[str]:
    if isinstance(case.get("input"), str):
        yield case["input"]
    messages = case.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if not isinstance(message, Mapping) or message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                yield content
            elif isinstance(content, list):
                yield " ".join(
                    part["text"]
                    for part in content
                    if isinstance(part, Mapping) and isinstance(part.get("text"), str)
                )
