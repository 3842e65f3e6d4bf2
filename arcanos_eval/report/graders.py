"""The report's "Graders" figures: each grader's calibration, and its agreement with human labels.

Both are read from the run log: the ``calibration`` lines (see :mod:`arcanos_eval.calibration`)
and, for suites whose cases carry a human label (``metadata.label``, recorded in the header as the
verdict their model-graded checks should reach), the checks' verdicts on those cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from arcanos_eval.model import CalibrationRecord, GraderKey, ResultRecord, RunHeader
from arcanos_eval.scorers._calibration import MIN_ACCURACY, graders_of
from arcanos_eval.stats import cohen_kappa, format_percent

__all__ = [
    "CALIBRATION_HEADERS",
    "CALIBRATION_NOTE",
    "LABELS_NOTE",
    "LABEL_HEADERS",
    "LabelAgreement",
    "calibration_rows",
    "label_agreement",
    "label_rows",
]


CALIBRATION_NOTE = (
    "Before its verdicts count, each model a check consults to grade is asked built-in "
    "calibration items with known answers (clearly benign and clearly harmful texts for "
    "moderation; answers that clearly meet or clearly miss a rubric for a judge). A grader that "
    f"agrees on fewer than {format_percent(MIN_ACCURACY, 0)} of them, or gives one verdict to "
    "all, fails calibration, and every gate reading its checks fails; so does one that could not "
    "be asked."
)
LABELS_NOTE = (
    "Cases labeled by a person (`metadata.label`: the verdict their graded checks should reach), "
    "against the verdicts the grader's checks reached on every answer to them."
)


@dataclass(frozen=True)
class LabelAgreement:
    """How often a grader's checks reached the verdict a human labeled the case with.

    ``n`` counts graded answers (each target's, each repeat's) of labeled cases; ``kappa`` is
    Cohen's kappa of the checks' verdicts against the labels (``None`` when undefined: both gave
    one and the same verdict throughout).
    """

    grader: str
    role: str
    n: int
    agreed: int
    kappa: float | None

    @property
    def key(self) -> GraderKey:
        return (self.grader, self.role)


def label_agreement(
    records: Iterable[ResultRecord], header: RunHeader
) -> tuple[LabelAgreement, ...]:
    """Per grader and role, the verdicts of its checks on human-labeled cases against the labels
    (errored answers and checks that consult no grader left out), sorted by grader."""
    labels = {
        (suite_id, case_id): label
        for suite_id, info in header.suites.items()
        for case_id, label in info.labels.items()
    }
    if not labels:
        return ()
    pairs: dict[GraderKey, list[tuple[bool, bool]]] = {}
    for record in records:
        label = labels.get((record.suite_id, record.case_id))
        if label is None or record.errored:
            continue
        for result in record.scores:
            for grader in graders_of(result.check, result.args):
                pairs.setdefault(grader, []).append((label, result.score.passed))
    return tuple(
        LabelAgreement(
            grader,
            role,
            len(rated),
            sum(a == b for a, b in rated),
            cohen_kappa(rated),
        )
        for (grader, role), rated in sorted(pairs.items())
    )


def _kappa(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


CALIBRATION_HEADERS = (
    "grader",
    "role",
    "status",
    "agreed",
    "accuracy",
    "Cohen's kappa",
    "verdicts",
    "why",
)


def calibration_rows(calibration: Sequence[CalibrationRecord]) -> list[tuple[str, ...]]:
    """One row per grader and role, in :data:`CALIBRATION_HEADERS` order."""
    rows: list[tuple[str, ...]] = []
    for record in calibration:
        word = "flagged" if record.role == "moderation" else "passed"
        expected = sum(a.expected for a in record.answers)
        if record.status == "uncalibrated":
            figures = ("n/a", "n/a", "n/a", "n/a")
            why = record.reason
        else:
            figures = (
                f"{record.agreed}/{record.items}",
                format_percent(record.accuracy),
                _kappa(record.kappa),
                f"{record.positives} {word} ({expected} should be)",
            )
            why = record.pattern or (
                f"agreed on fewer than {format_percent(record.min_accuracy, 0)}"
                if record.status == "failed"
                else f"at least {format_percent(record.min_accuracy, 0)} agreed"
            )
        rows.append((record.grader, record.role, record.status, *figures, why))
    return rows


LABEL_HEADERS = ("grader", "role", "labeled answers (n)", "agreed", "Cohen's kappa")


def label_rows(agreement: Sequence[LabelAgreement]) -> list[tuple[str, ...]]:
    """One row per grader and role, in :data:`LABEL_HEADERS` order."""
    return [(a.grader, a.role, str(a.n), f"{a.agreed}/{a.n}", _kappa(a.kappa)) for a in agreement]
