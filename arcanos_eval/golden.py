"""Maintenance of the golden store: ``arcanos-eval golden verify``, ``golden prune`` and ``golden seal``.

``verify`` checks that every record is intact (its content hash matches its line, its fingerprint
the request it stores), is recorded once, has full provenance and holds nothing key-shaped, and
compares the store with the plan of the configured suites and targets: answers the plan needs but
the store lacks are *missing*, recordings no planned request matches any more are *stale*.
``prune`` removes the stale ones.

``seal`` adds the content hash to records written before records were sealed, line by line: the
rest of each line stays byte for byte, so the commit that seals a store shows only added hashes.
It never touches a line whose hash is there already, matching or not: an edited record stays
evident until it is restored or recorded again.

Recordings of a ``scorer_only`` target (a judge) are keyed ``<case-id>~<target>-<fingerprint>``;
their requests depend on the answers being graded, so they cannot be planned. One is stale when its
case is gone or no check of the case consults that target any more. A grader's calibration
questions are recorded under ``_calibration/<grader>.jsonl``, keyed by calibration item; one is
stale when no check of the suites consults that grader in that item's role any more, or the item
left the built-in calibration set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from arcanos_eval._jsonl import HASH_KEY, dump_line, seal_line, seal_state, write_atomic
from arcanos_eval.backends import model_targets
from arcanos_eval.calibration import CALIBRATION_SUITE, case_graders
from arcanos_eval.config import RunConfig, TargetConfig
from arcanos_eval.errors import RunLogError
from arcanos_eval.fine_tunes import FineTuneStore, has_fine_tune
from arcanos_eval.model import Suite, fingerprint_of
from arcanos_eval.run import plan_calls
from arcanos_eval.scorers._calibration import calibration_items
from arcanos_eval.targets.replay import GoldenStore

__all__ = ["GoldenProblem", "SealCount", "prune_golden", "seal_golden", "verify_golden"]

PROVENANCE_FIELDS = ("endpoint", "model", "recorded_at", "sdk")
# Shapes of credentials that must never be stored: OpenAI keys and bearer headers.
KEY_SHAPES = re.compile(r"sk-(?:proj-)?[A-Za-z0-9_-]{20,}|Bearer\s+[A-Za-z0-9._-]{16,}")


@dataclass(frozen=True)
class GoldenProblem:
    """One finding of ``verify``: ``kind`` is edited, unsealed, duplicate, corrupt, provenance,
    secret, missing or stale."""

    kind: str
    where: str
    detail: str


def _planned(config: RunConfig, suites: Sequence[Suite]) -> set[tuple[str, str, str, int, str]]:
    return {
        (c.case.suite_id, c.target, c.case.id, c.repeat, c.request.fingerprint)
        for c in plan_calls(config, suites)
    }


def _fine_tune_problems(config: RunConfig) -> list[GoldenProblem]:
    """The recordings of fine-tuning jobs a replay of this configuration reads
    (``golden/_fine_tunes/<target>.json``, for a target whose fine-tune comes from the API): each
    missing or edited; and each recording no target reads any more (stale)."""
    store = FineTuneStore(config.golden, config.root)
    stale = _stale_fine_tunes(config)
    problems = [GoldenProblem("stale", store.shown(p.stem), why) for p, why in stale.items()]
    for target in config.active_targets:
        if not _reads_job(target) or store.path(target.name) in stale:
            continue
        found, _ = store.get(target)
        where = store.shown(target.name)
        if found is None:
            detail = "no recording of the fine-tune's provenance (record it with --mode record)"
            problems.append(GoldenProblem("missing", where, detail))
        elif found.problem is not None:
            kinds = {"no content hash": "unsealed", "edited after recording": "edited"}
            kind = next((k for text, k in kinds.items() if text in found.problem), "corrupt")
            problems.append(GoldenProblem(kind, where, found.problem))
    return problems


def _reads_job(target: TargetConfig) -> bool:
    """Whether ``target``'s fine-tune provenance comes from the API (and so is recorded): it has
    one, and no local training record holds it."""
    return has_fine_tune(target) and target.fine_tune_record is None


def _stale_fine_tunes(config: RunConfig) -> dict[Path, str]:
    """The recordings of fine-tuning jobs no configured target would read, and why: no target of
    that name, a target whose fine-tune is not read from the API, or one now serving another
    model or job."""
    store = FineTuneStore(config.golden, config.root)
    if not store.root.is_dir():
        return {}
    stale = {}
    for path in sorted(store.root.glob("*.json")):
        target = config.targets.get(path.stem)
        if target is None:
            stale[path] = f"no configured target is named {path.stem!r}"
        elif not _reads_job(target):
            stale[path] = f"target {path.stem!r} reads no fine-tuning job from the API"
        else:
            why = store.get(target)[1]
            if why is not None:
                stale[path] = why
    return stale


def _calibration_items(suites: Sequence[Suite]) -> set[tuple[str, str]]:
    """(grader, calibration item id) of every calibration the suites' graders need recorded."""
    return {
        (grader.target, item.id)
        for grader in case_graders(case for suite in suites for case in suite.cases)
        for item in calibration_items(grader.role)
    }


def _stale(
    config: RunConfig,
    suites: Sequence[Suite],
    store: GoldenStore,
    planned: set[tuple[str, str, str, int, str]],
) -> dict[tuple[str, str], set[tuple[str, int, str]]]:
    """Per (suite, target) file of the configured suites and targets, the keys of stale records."""
    answering = {t.name for t in config.active_targets}
    grading = [name for name, t in config.targets.items() if t.scorer_only]
    consulted = {
        (suite.id, name, case.id)
        for suite in suites
        for case in suite.cases
        for name in model_targets(case, grading)
    }
    by_suite = {s.id for s in suites}
    graders = _calibration_items(suites)
    stale: dict[tuple[str, str], set[tuple[str, int, str]]] = {}
    for suite_id, target, _ in store.iter_files():
        if suite_id == CALIBRATION_SUITE:
            keys = store.records(suite_id, target)
            found = {k for k in keys if (target, k[0].split("~")[0]) not in graders}
            if found:
                stale[(suite_id, target)] = found
            continue
        if suite_id not in by_suite:
            continue
        keys = store.records(suite_id, target)
        if target in answering:
            found = {k for k in keys if (suite_id, target, *k) not in planned}
        elif target in grading:
            found = {k for k in keys if (suite_id, target, k[0].split("~")[0]) not in consulted}
        else:
            continue
        if found:
            stale[(suite_id, target)] = found
    return stale


def verify_golden(config: RunConfig, suites: Sequence[Suite]) -> list[GoldenProblem]:
    """Every problem of the golden store for this configuration (empty when all is well)."""
    store = GoldenStore(config.golden)
    problems: list[GoldenProblem] = []
    recorded: set[tuple[str, str, str, int, str]] = set()
    for suite_id, target, path in store.iter_files():
        text = path.read_text(encoding="utf-8")
        for match in KEY_SHAPES.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(
                GoldenProblem("secret", f"{path}:{line}", "a credential-shaped value is stored")
            )
        records = store.records(suite_id, target)
        problems += [
            GoldenProblem(p.kind, p.where, p.detail) for p in store.problems(suite_id, target)
        ]
        for (case_id, repeat, fingerprint), record in records.items():
            where = f"{path} case {case_id!r}" + (f" repeat {repeat}" if repeat else "")
            recorded.add((suite_id, target, case_id, repeat, fingerprint))
            if fingerprint_of(record.request) != fingerprint:
                problems.append(
                    GoldenProblem("corrupt", where, "fingerprint does not match the stored request")
                )
            absent = [f for f in PROVENANCE_FIELDS if not record.provenance.get(f)]
            if absent:
                problems.append(
                    GoldenProblem("provenance", where, f"provenance lacks {', '.join(absent)}")
                )
    planned = _planned(config, suites)
    for suite_id, target, case_id, repeat, _ in sorted(planned - recorded):
        problems.append(
            GoldenProblem(
                "missing",
                f"{store.path(suite_id, target)} case {case_id!r}"
                + (f" repeat {repeat}" if repeat else ""),
                "no recording of the current request",
            )
        )
    problems += _fine_tune_problems(config)
    calibrated = {
        (target, key[0].split("~")[0])
        for suite_id, target, _ in store.iter_files()
        if suite_id == CALIBRATION_SUITE
        for key in store.records(suite_id, target)
    }
    for grader, item in sorted(_calibration_items(suites) - calibrated):
        problems.append(
            GoldenProblem(
                "missing",
                f"{store.path(CALIBRATION_SUITE, grader)} item {item!r}",
                "no recording of this calibration item: a replay leaves the grader uncalibrated",
            )
        )
    for (suite_id, target), keys in sorted(_stale(config, suites, store, planned).items()):
        for case_id, repeat, _ in sorted(keys):
            problems.append(
                GoldenProblem(
                    "stale",
                    f"{store.path(suite_id, target)} case {case_id!r}"
                    + (f" repeat {repeat}" if repeat else ""),
                    "no current case or check uses it",
                )
            )
    return problems


def prune_golden(config: RunConfig, suites: Sequence[Suite], *, dry_run: bool = False) -> int:
    """Remove stale recordings of the configured suites and targets, and the recordings of
    fine-tuning jobs no configured target reads; returns how many."""
    store = GoldenStore(config.golden)
    removed = 0
    for (suite_id, target), keys in _stale(config, suites, store, _planned(config, suites)).items():
        removed += len(keys) if dry_run else store.remove(suite_id, target, keys)
    for path in _stale_fine_tunes(config):
        removed += 1
        if not dry_run:
            path.unlink()
    if not dry_run:
        store.flush()
    return removed


@dataclass(frozen=True)
class SealCount:
    """What ``seal`` did: records it sealed, records already sealed, and lines it left alone
    because their hash does not match (``edited``: file and line of each)."""

    sealed: int
    already: int
    edited: tuple[tuple[Path, int], ...]
    files: tuple[Path, ...]


def seal_golden(root: Path, *, dry_run: bool = False) -> SealCount:
    """Add the content hash to every golden record under ``root`` that has none.

    A line is sealed in its canonical form (which is how the store writes it, so a recorded file
    changes only by the hash); lines that already carry a hash are left exactly as they are.
    """
    store = GoldenStore(root)
    sealed = already = 0
    edited: list[tuple[Path, int]] = []
    written: list[Path] = []
    for _, _, path in store.iter_files():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        changed = False
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise RunLogError(f"{path}:{number}: not a golden record ({exc})") from None
            if not isinstance(data, dict):
                raise RunLogError(f"{path}:{number}: not a golden record (not a JSON object)")
            if HASH_KEY in data:
                if seal_state(line, data) == "sealed":
                    already += 1
                else:
                    edited.append((path, number))
                continue
            lines[number - 1] = seal_line(dump_line(data))
            sealed += 1
            changed = True
        if changed and not dry_run:
            write_atomic(path, lines)
            written.append(path)
    return SealCount(sealed, already, tuple(edited), tuple(written))
