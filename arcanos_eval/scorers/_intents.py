"""The ``intents`` check: a multi-intent message had every intent addressed, and none invented.

Three ways to tell which intents an answer addressed, tried in order:

1. a JSON field (``intents`` by default) listing intent names (strings, or objects with a
   ``name`` / ``intent`` key);
2. per-intent keyword or regex sets from the check (``keywords``) or the case metadata
   (``intent_keywords``);
3. a judge model (``judge: <target>``) asked which of the expected intents the answer addresses.

A field is the model's claim, not evidence: ``{"intents": [a, b], "reply": "Hi!"}`` names both
intents and addresses neither. So in field mode every expected intent the field claims must also be
addressed by the rest of the answer (its other text values, the field left out): matched by the
intent's keyword set, or, for an intent without one, confirmed by the judge when the check names
one. A claimed intent the reply does not address fails the check as "claimed but not addressed".
An expected intent with neither a keyword set nor a judge cannot be checked, and fails closed,
naming the missing keyword sets: a claim nobody can verify is no evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from arcanos_eval.errors import ModelAnswerError, ScorerArgumentError
from arcanos_eval.model import Score
from arcanos_eval.scorers._answer import answer_json, answer_text, lookup, preview
from arcanos_eval.scorers._models import ModelBackend, ask_json, resolve_backend
from arcanos_eval.scorers._pattern import (
    PATTERN_TIMEOUT_S,
    Deadline,
    compile_pattern,
    timed_out_reason,
)
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


def _reply_text(value: Any, field: str) -> str:
    """Every text value of a JSON answer but the intent field's: what the reply says."""
    steps = field.split(".") if field else []
    texts: list[str] = []

    def walk(node: Any, path: list[str]) -> None:
        if path == steps:
            return
        if isinstance(node, str):
            texts.append(node)
        elif isinstance(node, Mapping):
            for key, item in node.items():
                walk(item, [*path, str(key)])
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, [*path, str(index)])

    walk(value, [])
    return "\n".join(texts)


def _addressed_in_reply(
    reply: str,
    claimed: Sequence[str],
    keywords: Mapping[str, Sequence[str] | str] | None,
    case: Case | None,
    judge: ModelBackend | None,
) -> tuple[dict[str, str], list[str], list[str], str | None]:
    """Which ``claimed`` intents the reply text addresses.

    Returns (evidence by addressed intent, claimed but not addressed, intents that no keyword set
    or judge can check, why the judge could not be asked).

    Raises:
        TimeoutError: the keyword patterns ran out of time.
    """
    patterns = {_key(name): pats for name, pats in intent_patterns(keywords or {}).items()}
    evidence: dict[str, str] = {}
    unaddressed: list[str] = []
    for_judge: list[str] = []
    clock = Deadline()  # every keyword of the check shares one time limit
    for name in claimed:
        pats = patterns.get(_key(name))
        if pats is None:
            for_judge.append(name)
            continue
        hit = next((p.pattern for p in pats if clock.search(p, reply)), None)
        if hit is None:
            unaddressed.append(name)
        else:
            evidence[name] = f"keyword {hit}"
    if not for_judge:
        return evidence, unaddressed, [], None
    if judge is None:
        return evidence, unaddressed, for_judge, None
    if not reply.strip():
        return evidence, [*unaddressed, *for_judge], [], None
    try:
        confirmed, _, why = _judged(reply, for_judge, case, judge)
    except Exception as exc:  # a failing judge leaves the claims unverified, with the reason
        return evidence, unaddressed, for_judge, f"{type(exc).__name__}: {exc}"
    confirmed_keys = {_key(name) for name in confirmed}
    for name in for_judge:
        if _key(name) in confirmed_keys:
            evidence[name] = f"judge: {why}" if why else "judge"
        else:
            unaddressed.append(name)
    return evidence, unaddressed, [], None


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
    when ``allow_extra`` is false. An intent the JSON field claims counts only when the rest of
    the answer addresses it too (its keywords match there, or, without keywords, the judge says
    so); the reason names those "claimed but not addressed", and those nothing can check.

    Args:
        output: The answer: a Response, a string or parsed JSON.
        case: The case; ``metadata.intent_keywords`` supplies keywords when the check gives none.
        intents: The expected intent names.
        keywords: ``{intent: [phrase, "/regex/", ...]}`` for answers in prose.
        field: Dotted path of the intent list in a JSON answer.
        judge: Name of a model backend that decides when neither a field nor keywords apply,
            and confirms claimed intents that have no keywords.
        allow_extra: Accept intents beyond the expected ones.
        backend: A backend object (or name) to use instead of ``judge``.

    Example:
        >>> found = {"account_recovery": ["reset"], "event_schedule": ["raid"]}
        >>> intents("Reset link sent! The raid starts Friday.",
        ...         intents=["account_recovery", "event_schedule"], keywords=found).passed
        True
        >>> intents({"intents": ["account_recovery", "event_schedule"], "reply": "Hi!"},
        ...         intents=["account_recovery", "event_schedule"], keywords=found).reason
        "claimed but not addressed: account_recovery, event_schedule (by field 'intents')"
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
    # Field mode: claimed intents the reply does not address, and those nothing can check.
    unaddressed: list[str] = []
    unverified: list[str] = []
    judge_error: str | None = None
    confirmed = ""  # how the reply confirmed the field's claims
    if found_field:
        names = _names(listed)
        if names is None:
            return Score.fail(
                f"{field!r} is not a list of intent names: {preview(listed)}",
                missed=expected,
                invented=[],
            )
        addressed, source = names, f"field {field!r}"
        claimed_keys = {_key(name) for name in names}
        claimed = [name for name in expected if _key(name) in claimed_keys]
        model = (
            resolve_backend(backend, judge) if judge is not None or backend is not None else None
        )
        try:
            evidence, unaddressed, unverified, judge_error = _addressed_in_reply(
                _reply_text(value, field), claimed, keywords, case, model
            )
        except TimeoutError:
            return Score.fail(
                f"keywords: {timed_out_reason(PATTERN_TIMEOUT_S)}", missed=expected, invented=[]
            )
        kinds = {"judge" if e.startswith("judge") else "keywords" for e in evidence.values()}
        confirmed = f", each confirmed in the reply by {' and '.join(sorted(kinds))}"
        extra_details["evidence"] = evidence
        extra_details["claimed_not_addressed"] = unaddressed
        extra_details["unverified"] = unverified
        if judge_error is not None:
            extra_details["judge_error"] = judge_error
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
    failed_claims = {_key(name) for name in [*unaddressed, *unverified]}
    shown = [n for n in expected if n not in missed and _key(n) not in failed_claims]
    details = {
        "expected": expected,
        "addressed": shown,
        "missed": missed,
        "invented": invented,
        "source": source,
        **extra_details,
    }
    value_share = len(shown) / len(expected)
    problems = []
    if missed:
        problems.append(f"missed {', '.join(missed)}")
    if unaddressed:
        problems.append(f"claimed but not addressed: {', '.join(unaddressed)}")
    if unverified:
        why = (
            f"the judge could not be asked ({judge_error})"
            if judge_error is not None
            else "no keyword set for "
            + ("it" if len(unverified) == 1 else "them")
            + " and no judge (give keywords: {intent: [...]} or judge: <target>)"
        )
        problems.append(f"cannot check that the reply addresses {', '.join(unverified)}: {why}")
    if invented and not allow_extra:
        problems.append(f"invented {', '.join(invented)}")
    if problems:
        return Score.fail(f"{'; '.join(problems)} (by {source})", value_share, **details)
    note = f"; also addressed {', '.join(invented)}" if invented else ""
    return Score.ok(
        f"addressed all {len(expected)} intents (by {source}{confirmed}){note}",
        value_share,
        **details,
    )
