"""What a run's model calls cost: estimated before the run (``run --dry-run``), bounded during it
(``run --max-cost USD``).

Prices are the targets' ``prices`` (USD per million input and output tokens); the Batch API bills
half of them (:data:`BATCH_DISCOUNT`).

**Before a run** nothing is sent: a call's prompt tokens are *estimated* offline with the model's
tokenizer, bundled with ``bpe-openai`` (``o200k_base`` for the models it does not know, such as a
local model's, whose own tokenizer counts differently), counting each message with the chat
format's framing, the tools and the response schema as compact JSON (how the API renders those
two is not published); its completion tokens are bounded by the request's ``max_tokens``, or
:data:`ASSUMED_COMPLETION_TOKENS` when it sets none.

**During a run**, :class:`Budget` keeps the cost of the answers received (from the usage they
report; an answer without usage counts at its worst case) plus the worst case of the calls in
flight. A call that could take the total past the limit is not sent, nor is any call after it:
the run finishes the calls in flight and ends without its footer, resumable. Calls of graders
(judges, moderation: their calibration questions and their checks) are never refused, so an
answer already paid for is always scored; their cost counts, so the run stops sooner.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from arcanos_eval.engine import Call, Engine
from arcanos_eval.errors import ConfigError
from arcanos_eval.model import Request, Response
from arcanos_eval.stats import token_cost

__all__ = [
    "ASSUMED_COMPLETION_TOKENS",
    "BATCH_DISCOUNT",
    "Budget",
    "CostPlan",
    "TargetCost",
    "call_cost",
    "completion_bound",
    "plan_cost",
    "prompt_tokens",
    "require_prices",
]

BATCH_DISCOUNT = 0.5
"""The Batch API's prices: half of the live ones."""

ASSUMED_COMPLETION_TOKENS = 4096
"""Completion tokens assumed for a request that sets no ``max_tokens`` (it has no bound)."""

_FALLBACK_ENCODING = "o200k_base"
_PRICE_KEYS = ("input_per_mtok", "output_per_mtok")


@lru_cache(maxsize=64)
def _encoding_of(model: str) -> tuple[str, bool]:
    """The tokenizer of ``model`` and whether it is the model's own (else the fallback)."""
    from arcanos_eval.data.tokens import model_spec

    try:
        return model_spec(model).encoding, True
    except ConfigError:
        return _FALLBACK_ENCODING, False


@lru_cache(maxsize=4096)
def _text_tokens(encoding: str, text: str) -> int:
    # Cached whole, whatever the size: a system prompt of thousands of tokens repeats on every call.
    from arcanos_eval.data.tokens import TokenCounter

    return TokenCounter(encoding).text(text) if len(text) <= 16_384 else _long(encoding, text)


def _long(encoding: str, text: str) -> int:
    from arcanos_eval.data.tokens import get_encoding

    return len(get_encoding(encoding).encode_ordinary(text))


def prompt_tokens(request: Request) -> int:
    """The prompt tokens of ``request``, estimated offline (see the module docstring).

    Example:
        >>> from arcanos_eval.model import Request
        >>> prompt_tokens(Request(api="chat", model="gpt-4.1", messages=({"role": "user",
        ...     "content": "hello world"},)))
        9
    """
    from arcanos_eval.data.tokens import REPLY_PRIMING, TOKENS_PER_MESSAGE

    encoding, _ = _encoding_of(request.model)
    total = REPLY_PRIMING
    for message in request.messages:
        total += TOKENS_PER_MESSAGE
        for key in ("role", "content", "name"):
            value = message.get(key)
            if isinstance(value, str):
                total += _text_tokens(encoding, value)
            elif isinstance(value, list):  # content parts: their text
                total += sum(
                    _text_tokens(encoding, part["text"])
                    for part in value
                    if isinstance(part, Mapping) and isinstance(part.get("text"), str)
                )
    for extra in (list(request.tools) or None, request.response_schema):
        if extra is not None:
            compact = json.dumps(extra, separators=(",", ":"), ensure_ascii=False, default=str)
            total += _text_tokens(encoding, compact)
    return total


def completion_bound(request: Request) -> int | None:
    """The most completion tokens ``request`` allows (``max_tokens``, ``max_completion_tokens``
    or ``max_output_tokens``), or ``None`` when it sets no bound."""
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = request.params.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def call_cost(
    prices: Mapping[str, float], prompt: int, completion: int, *, batch: bool = False
) -> float | None:
    """USD for ``prompt`` and ``completion`` tokens at ``prices`` (half in batch mode), or
    ``None`` when the target has no prices.

    Example:
        >>> call_cost({"input_per_mtok": 2.0, "output_per_mtok": 8.0}, 1000, 500)
        0.006
    """
    usd = token_cost(prices, prompt, completion)
    return usd * BATCH_DISCOUNT if usd is not None and batch else usd


def require_prices(targets: Mapping[str, Mapping[str, float]]) -> None:
    """Every target a budgeted run may call has prices.

    Raises:
        ConfigError: naming the targets without ``input_per_mtok`` or ``output_per_mtok``.
    """
    missing = [
        name for name, prices in targets.items() if not all(k in prices for k in _PRICE_KEYS)
    ]
    if missing:
        names = ", ".join(repr(n) for n in missing)
        raise ConfigError(
            f"--max-cost: target(s) {names} have no prices: add prices = {{ input_per_mtok = ..., "
            f"output_per_mtok = ... }} to [tool.arcanos_eval.targets.{missing[0]}] (USD per "
            "million tokens)"
        )


# ------------------------------------------------------------------------------ the budget


@dataclass
class _Ledger:
    spent: float = 0.0
    reserved: float = 0.0
    stopped: bool = False
    not_sent: int = 0
    not_sent_usd: float = 0.0  # the worst case of the calls not sent: what finishing may cost


class Budget:
    """The most a run's model calls may cost (see the module docstring). Used on the event loop's
    thread only, like the engine that asks it."""

    def __init__(
        self,
        limit_usd: float,
        prices: Mapping[str, Mapping[str, float]],
        *,
        batch: bool = False,
        _ledger: _Ledger | None = None,
        _refuses: bool = True,
    ) -> None:
        self.limit_usd = limit_usd
        self.prices = prices
        self.batch = batch
        self._ledger = _ledger if _ledger is not None else _Ledger()
        self._refuses = _refuses
        self._held: dict[int, float] = {}  # id(call) -> its reservation

    def for_checks(self) -> Budget:
        """The same budget for the calls of checks (judges, moderation): counted, never refused,
        and always live (a check's call does not go through the Batch API)."""
        return Budget(self.limit_usd, self.prices, _ledger=self._ledger, _refuses=False)

    @property
    def spent_usd(self) -> float:
        return self._ledger.spent

    @property
    def stopped(self) -> bool:
        """Whether a call was refused: the run did not make every call."""
        return self._ledger.stopped

    @property
    def not_sent(self) -> int:
        return self._ledger.not_sent

    def worst_case(self, call: Call) -> float:
        """The most ``call`` can cost: its estimated prompt and its completion bound."""
        completion = completion_bound(call.request) or ASSUMED_COMPLETION_TOKENS
        usd = call_cost(
            self.prices.get(call.target, {}),
            prompt_tokens(call.request),
            completion,
            batch=self.batch,
        )
        return usd or 0.0

    def reserve(self, call: Call) -> bool:
        """Hold the worst case of ``call`` before it is sent; ``False`` (send nothing, now or
        later) when it could take the run past the limit."""
        ledger = self._ledger
        worst = self.worst_case(call)
        if self._refuses and (
            ledger.stopped or ledger.spent + ledger.reserved + worst > self.limit_usd
        ):
            ledger.stopped = True
            ledger.not_sent += 1
            ledger.not_sent_usd += worst
            return False
        ledger.reserved += worst
        self._held[id(call)] = self._held.get(id(call), 0.0) + worst
        return True

    def settle(self, call: Call, answer: Response | None) -> None:
        """Release the reservation of ``call`` and count what its ``answer`` cost (nothing for a
        failed attempt, ``None``: the API bills answers)."""
        ledger = self._ledger
        held = self._held.pop(id(call), 0.0)
        ledger.reserved = max(0.0, ledger.reserved - held)
        if answer is None or answer.errored:
            return
        usage = answer.usage
        if not usage.prompt_tokens and not usage.completion_tokens:
            ledger.spent += held  # no usage reported: its worst case
            return
        ledger.spent += (
            call_cost(
                self.prices.get(call.target, {}),
                usage.prompt_tokens,
                usage.completion_tokens,
                batch=self.batch,
            )
            or 0.0
        )

    def stop_line(self, log: str) -> str | None:
        """``stopped at $X of $Y budget; resume with: ...``, or ``None`` when no call was
        refused."""
        ledger = self._ledger
        if not ledger.stopped:
            return None
        rest = max(0.01, math.ceil(ledger.not_sent_usd * 100) / 100)
        return (
            f"stopped at ${ledger.spent:.4f} of ${self.limit_usd:g} budget, "
            f"{ledger.not_sent} call(s) not sent; resume with: arcanos-eval run --resume {log} "
            f"--max-cost {rest:g} (the estimated worst case of the calls left)"
        )


# ------------------------------------------------------------------------------ the estimate


@dataclass
class TargetCost:
    """The planned calls of one target and what they would cost.

    Attributes:
        planned: answers the run needs from this target.
        golden: answered by golden recordings.
        cached: answered by the local cache.
        shared: answered by an identical request of the run (made once).
        to_call: requests to send.
        prompt_tokens: estimated prompt tokens of ``to_call``.
        completion_tokens: their completion bound (``max_tokens``, or the assumed bound).
        unbounded: calls among ``to_call`` without ``max_tokens``.
        cost_usd: at live prices, ``None`` without prices.
        batch_cost_usd: at Batch API prices.
        own_tokenizer: the prompt was counted with the model's own tokenizer.
    """

    target: str
    planned: int = 0
    golden: int = 0
    cached: int = 0
    shared: int = 0
    to_call: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unbounded: int = 0
    cost_usd: float | None = None
    batch_cost_usd: float | None = None
    own_tokenizer: bool = True


@dataclass
class CostPlan:
    """What a run would call and cost, target by target (see :func:`plan_cost`).

    ``checks`` counts, per target that checks consult (a judge), the answers to be called whose
    checks consult it: their prompts hold answers not given yet, so their cost is not estimated.
    """

    mode: str
    targets: list[TargetCost] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # calls the mode cannot make

    @property
    def cost_usd(self) -> float | None:
        known = [t.cost_usd for t in self.targets if t.to_call and t.cost_usd is not None]
        return sum(known) if known else None

    def render(self) -> str:
        """The plan as the terminal shows it: a table, then what the figures mean."""
        from tabulate import tabulate

        def usd(value: float | None, calls: int) -> str:
            if not calls:
                return "-"
            return "no prices" if value is None else f"${value:.4f}"

        rows = [
            (
                t.target,
                t.planned,
                t.golden,
                t.cached,
                t.shared,
                t.to_call,
                f"{t.prompt_tokens:,}",
                f"{t.completion_tokens:,}" + ("*" if t.unbounded else ""),
                usd(t.cost_usd, t.to_call),
                usd(t.batch_cost_usd, t.to_call),
            )
            for t in self.targets
        ]
        table = tabulate(
            rows,
            headers=[
                "target",
                "answers",
                "golden",
                "cache",
                "same request",
                "to call",
                "prompt tokens (est.)",
                "completion tokens (max)",
                "cost (est.)",
                "batch cost (est.)",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
        calls = sum(t.to_call for t in self.targets)
        total = self.cost_usd
        batch_total = [t.batch_cost_usd for t in self.targets if t.to_call and t.batch_cost_usd]
        lines = [
            table,
            "",
            f"dry run ({self.mode}): {calls} call(s) would be sent"
            + (
                f", estimated at most ${total:.4f} (batch: ${sum(batch_total):.4f})"
                if total is not None
                else ""
            )
            + "; nothing was called.",
        ]
        called = [t for t in self.targets if t.to_call]
        guessed = [t.target for t in called if not t.own_tokenizer]
        if not guessed:
            tokenizer = "the model's own tokenizer"
        elif len(guessed) == len(called):
            tokenizer = f"{_FALLBACK_ENCODING} (for {', '.join(guessed)}"
        else:
            tokenizer = f"the model's own tokenizer ({_FALLBACK_ENCODING} for {', '.join(guessed)}"
        if guessed:
            tokenizer += ": a model whose tokenizer is not bundled, which counts differently)"
        lines.append(
            f"Prompt tokens are estimated offline with {tokenizer}; completion tokens are the "
            "requests' max_tokens, an upper bound; cost at the targets' prices, batch at "
            f"{BATCH_DISCOUNT:.0%} of them."
        )
        if any(t.unbounded for t in self.targets):
            lines.append(
                f"* requests without max_tokens: {ASSUMED_COMPLETION_TOKENS:,} completion tokens "
                "assumed each."
            )
        for name, count in sorted(self.checks.items()):
            lines.append(
                f"Checks consult {name!r} on {count} of the answers to call: not estimated "
                "(their prompts hold answers not given yet)."
            )
        if self.missing:
            lines.append(
                f"{len(self.missing)} answer(s) cannot be called in this mode and have no "
                f"recording ({', '.join(self.missing[:5])}"
                + (f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else "")
                + "): the run would stop with an error."
            )
        return "\n".join(lines)


def plan_cost(engine: Engine, calls: Sequence[Call], *, consulted: Sequence[str] = ()) -> CostPlan:
    """What ``calls`` would cost through ``engine``: answered from golden or the cache, shared
    by an identical request, or sent; nothing is called and the engine's statistics stay as
    they were.

    Args:
        engine: the run's engine (targets, mode, golden store, cache).
        calls: the planned calls.
        consulted: the configured targets that checks may consult (judges, moderation).
    """
    from arcanos_eval.backends import model_targets

    rows: dict[str, TargetCost] = {name: TargetCost(name) for name in engine.targets}
    sent: set[tuple[str, str, int]] = set()
    checks: dict[str, int] = {}
    missing: list[str] = []
    for call in calls:
        row = rows[call.target]
        row.planned += 1
        recorded = engine.recorded(call)
        if recorded is not None:
            if recorded.origin == "replayed":
                row.golden += 1
            else:
                row.cached += 1
            continue
        if call.dedupe_key in sent:
            row.shared += 1
            continue
        if not engine.may_call(call.target):
            missing.append(f"{call.case.key}[{call.target}]")
            continue
        sent.add(call.dedupe_key)
        row.to_call += 1
        row.prompt_tokens += prompt_tokens(call.request)
        bound = completion_bound(call.request)
        row.completion_tokens += bound or ASSUMED_COMPLETION_TOKENS
        row.unbounded += bound is None
        row.own_tokenizer &= _encoding_of(call.request.model)[1]
        for name in model_targets(call.case, consulted) if consulted else ():
            checks[name] = checks.get(name, 0) + 1
    for name, row in rows.items():
        prices = engine.targets[name].config.prices
        row.cost_usd = call_cost(prices, row.prompt_tokens, row.completion_tokens)
        row.batch_cost_usd = call_cost(prices, row.prompt_tokens, row.completion_tokens, batch=True)
    return CostPlan(engine.mode.value, list(rows.values()), checks, missing)
