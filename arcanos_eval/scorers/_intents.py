"""The ``intents`` check: a multi-intent message had every intent addressed, and none invented.

Three ways to tell which intents an answer addressed, tried in order:

1. a JSON field (``intents`` by default) listing intent names (strings, or objects with a
   ``name`` / ``intent`` key);
2. per-intent keyword or regex sets from the check (``keywords``) or the case metadata
   (``intent_keywords``);
3. a judge model (``judge: <target>``) asked which of the expected intents the answer addresses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from arcanos_eval.errors import ModelAnswerError, ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import answer_json, answer_text, lookup, preview
from arcanos_eval.scorers._models import ModelBackend, ask_json, resolve_backend
from arcanos_eval.scorers._pattern import Deadline, compile_pattern, timed_out_reason
from arcanos_eval.scorers._registry import as_response, scorer

if TYPE_CHECKING:
    from regex import Pattern

    from arcanos_eval.model import Case

__all__ = ["intent_patterns", "intents"]


def _compile(word: str) -> Pattern[str]:
    # Explicit markers, not guessing: "c++" or "what?" are phrases users mean literally.
    if len(word) > 2 and word.startswith("/") and word.endswith("/"):
        return compile_pattern(word[1:-1], re.IGNORECASE)
    if word.startswith("re:"):
        return compile_pattern(word[3:], re.IGNORECASE)
    return compile_pattern(rf"(?<!\w){re.escape(word.strip())}(?!\w)", re.IGNORECASE)


def intent_patterns(
    keywords: Mapping[str, Sequence[str] | str],
) -> dict[str, list[Pattern[str]]]:
    """Compile per-intent keywords: phrases match as whole words; ``/.../`` or ``re:`` is a regex.

    All patterns ignore case. ``"reset password"`` and ``"c++"`` match literally (not inside
    longer words); ``"/raid (start|time)s?/"`` and ``"re:raid (start|time)s?"`` are regexes, with
    ``re``'s syntax, matched by the ``regex`` package so that a check's matches share a time
    limit (see :mod:`arcanos_eval.scorers._pattern`).

    Raises:
        ScorerArgumentError: the mapping or its values have the wrong shape, or a pattern is not
            a valid regular expression.

    Example:
        >>> found = intent_patterns({"event_schedule": ["raid", "/\\\\d+:\\\\d+/"]})
        >>> [bool(p.search("Raid at 20:00")) for p in found["event_schedule"]]
        [True, True]
    """
    if not isinstance(keywords, Mapping):
        raise ScorerArgumentError(
            f"keywords must map intent names to word lists, found {preview(keywords)}"
        )
    compiled: dict[str, list[Pattern[str]]] = {}
    for intent, words in keywords.items():
        items = [words] if isinstance(words, str) else words
        if not isinstance(items, (list, tuple)) or not all(
            isinstance(w, str) and w.strip() for w in items
        ):
            raise ScorerArgumentError(
                f"keywords for {intent!r} must be non-empty strings, found {preview(words)}"
            )
        patterns = []
        for word in items:
            try:
                patterns.append(_compile(word))
            except ScorerArgumentError as exc:
                raise ScorerArgumentError(f"keyword pattern for {intent!r}: {exc}") from None
        compiled[str(intent)] = patterns
    return compiled


def _validate(kwargs: Mapping[str, Any]) -> None:
    expected = kwargs.get("intents")
    if (
        not isinstance(expected, (list, tuple))
        or not expected
        or not all(isinstance(i, str) and i for i in expected)
    ):
        raise ScorerArgumentError(
            f"intents must be a non-empty list of names, found {preview(expected)}"
        )
    if kwargs.get("keywords") is not None:
        intent_patterns(kwargs["keywords"])


def _names(value: Any) -> list[str] | None:
    """Intent names from a JSON field value, or ``None`` when it has the wrong shape."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return None
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping):
            name = item.get("name", item.get("intent", item.get("type")))
            if not isinstance(name, str):
                return None
            names.append(name)
        else:
            return None
    return names


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


_JUDGE_SCHEMA = {
    "type": "object",
    "properties": {
        "addressed": {"type": "array", "items": {"type": "string"}},
        "other_intents": {"type": "array", "items": {"type": "string"}},
        "reason": {"type": "string"},
    },
    "required": ["addressed", "other_intents", "reason"],
    "additionalProperties": False,
}


def _judged(
    text: str, expected: Sequence[str], case: Case | None, backend: ModelBackend
) -> tuple[list[str], list[str], str]:
    request = f"User message:\n{case.input}\n\n" if case is not None and case.input else ""
    verdict = ask_json(
        backend,
        [
            {
                "role": "system",
                "content": (
                    "List which of the given intents the assistant's answer actually addresses "
                    "(answers, acts on, or explicitly declines), and name any other intents it responds "
                    "to that the user did not express. Use the given intent names. Answer as JSON."
                ),
            },
            {
                "role": "user",
                "content": (
                    f"{request}Intents: {', '.join(expected)}\n\nAssistant answer:\n{text[:20_000]}"
                ),
            },
        ],
        name="intent_coverage",
        schema=_JUDGE_SCHEMA,
    )
    addressed = _names(verdict.get("addressed"))
    others = _names(verdict.get("other_intents"))
    if addressed is None or others is None:
        raise ModelAnswerError(f"the judge gave an unusable verdict: {preview(verdict)}")
    return addressed, others, str(verdict.get("reason", ""))


@scorer("intents", primary="intents", validate=_validate)
def intents(
    output: Any,
    case: Case | None = None,
    *,
    intents: Sequence[str],
    keywords: Mapping[str, Sequence[str] | str] | None = None,
    field: str = "intents",
    judge: str | None = None,
    allow_extra: bool = True,
    backend: ModelBackend | str | None = None,
) -> Score:
    """Every expected intent is addressed; the reason names missed and invented intents.

    ``value`` is the share of expected intents addressed. Invented intents (named in the JSON
    field, matched by another intent's keywords, or reported by the judge) fail the check only
    when ``allow_extra`` is false.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case; ``metadata.intent_keywords`` supplies keywords when the check gives none.
        intents: The expected intent names.
        keywords: ``{intent: [phrase, "/regex/", ...]}`` for answers in prose.
        field: Dotted path of the intent list in a JSON answer.
        judge: Name of a model backend that decides when neither a field nor keywords apply.
        allow_extra: Accept intents beyond the expected ones.
        backend: A backend object (or name) to use instead of ``judge``.

    Example:
        >>> intents("Reset link sent! The raid starts Friday.",
        ...         intents=["account_recovery", "event_schedule"],
        ...         keywords={"account_recovery": ["reset"], "event_schedule": ["raid"]}).passed
        True
    """
    expected = list(intents)
    _validate({"intents": expected, "keywords": keywords})
    response = as_response(output)
    text, reason = answer_text(response)
    if reason is not None:
        return Score.fail(reason, missed=expected, invented=[])
    value, _ = answer_json(response)
    found_field, listed = (
        lookup(value, field) if isinstance(value, (Mapping, list)) else (False, None)
    )
    if keywords is None and case is not None:
        from_case = case.metadata.get("intent_keywords")
        keywords = from_case if isinstance(from_case, Mapping) else None
    extra_details: dict[str, Any] = {}
    others: list[str] = []  # intents outside the expected ones that the source reports
    if found_field:
        names = _names(listed)
        if names is None:
            return Score.fail(
                f"{field!r} is not a list of intent names: {preview(listed)}",
                missed=expected,
                invented=[],
            )
        addressed, source = names, f"field {field!r}"
    elif keywords is not None:
        patterns = intent_patterns(keywords)
        clock = Deadline()  # every keyword of the check shares one time limit
        try:
            hits = {
                name: next((p.pattern for p in pats if clock.search(p, text)), None)
                for name, pats in patterns.items()
            }
        except TimeoutError:
            return Score.fail(
                f"keywords: {timed_out_reason(clock.limit_s)}", missed=expected, invented=[]
            )
        addressed = [name for name, hit in hits.items() if hit is not None]
        source = "keywords"
        extra_details["matched"] = {name: hit for name, hit in hits.items() if hit is not None}
    elif judge is not None or backend is not None:
        model = resolve_backend(backend, judge)  # an unknown name is a setup error: raise it
        try:
            addressed, others, why = _judged(text, expected, case, model)
        except Exception as exc:  # a failing judge is a failed check, with reason
            return Score.fail(
                f"the judge could not be asked: {type(exc).__name__}: {exc}",
                missed=expected,
                invented=[],
            )
        source = "judge"
        extra_details["judge_reason"] = why
    else:
        return Score.fail(
            f"cannot tell which intents were addressed: the answer has no {field!r} "
            "field and the check gives no keywords or judge",
            missed=expected,
            invented=[],
        )
    expected_keys = {_key(name) for name in expected}
    addressed_keys = {_key(name) for name in addressed}
    missed = [name for name in expected if _key(name) not in addressed_keys]
    invented = list(
        dict.fromkeys(name for name in [*addressed, *others] if _key(name) not in expected_keys)
    )
    covered = len(expected) - len(missed)
    details = {
        "expected": expected,
        "addressed": [n for n in expected if n not in missed],
        "missed": missed,
        "invented": invented,
        "source": source,
        **extra_details,
    }
    value_share = covered / len(expected)
    problems = []
    if missed:
        problems.append(f"missed {', '.join(missed)}")
    if invented and not allow_extra:
        problems.append(f"invented {', '.join(invented)}")
    if problems:
        return Score.fail(f"{'; '.join(problems)} (by {source})", value_share, **details)
    note = f"; also addressed {', '.join(invented)}" if invented else ""
    return Score.ok(
        f"addressed all {len(expected)} intents (by {source}){note}", value_share, **details
    )
