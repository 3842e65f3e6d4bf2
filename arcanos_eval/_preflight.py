"""The pre-flight check: before a run's first model call, can each target be called at all?

A run that cannot reach its server, or sends a model id the server does not have, would otherwise
learn it one call at a time: every case errors after every retry, and the report shows counts
("34 retries, 34 errored") instead of the cause. So before the first call of the targets a run
will actually call (what golden and the cache answer needs no check), :class:`Preflight` checks:

* **the key**: a target whose calls need one (the public API always; a server of one's own when
  its table names ``api_key_env``) has it in its environment variable, else a
  :class:`~arcanos_eval.errors.ConfigError` naming the variable;
* **the model id**, once per endpoint (base URL and key): ``client.models.list()`` through the
  official SDK; a model the server does not list is a ``ConfigError`` naming a few it has. A
  server without ``/v1/models`` (404, 405, 501) is not checked; a target with
  ``check_model = false`` (a server that answers to any name) is not asked;
* **the connection**: a server that refuses it, a host name that does not resolve, or no answer
  within :data:`CONNECT_S` is an :class:`~arcanos_eval.errors.EndpointError` (exit status 3)
  giving what the transport said and the URL; so is a server that refuses the key (401, 403).
  Where no model is checked, a TCP connection to the server's host and port stands in for the
  request (no request is sent; skipped when a proxy carries the traffic).

Other answers (429, 5xx, a body that is not a model list) prove the server is there: the run goes
on and the engine's retries deal with them. What was skipped and why is logged on the
``arcanos_eval`` logger (``arcanos-eval -v`` prints it).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import urllib.request
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from arcanos_eval.engine import first_few
from arcanos_eval.errors import ArcanosError, ConfigError, EndpointError, shorten
from arcanos_eval.targets.base import Target
from arcanos_eval.targets.openai import OpenAITarget

__all__ = ["CONNECT_S", "Preflight"]

log = logging.getLogger("arcanos_eval")

CONNECT_S = 10.0
"""Seconds the check waits for a connection; an answer is awaited as long as a call would be."""

_NOT_IMPLEMENTED = (404, 405, 501)  # a server that has no /v1/models
_DENIED = (401, 403)
_MAX_LISTED = 10_000  # model ids read from one server at most


class Preflight:
    """Checks targets before their first call; each endpoint once per run, whatever the number of
    executions (a pytest-xdist worker executes call group after call group). A failed check
    raises the same error again without asking the server twice."""

    def __init__(self) -> None:
        self._checked: set[str] = set()  # target names
        self._failed: dict[str, ArcanosError] = {}  # target name -> its error
        # One lock per event loop (a pytest-xdist worker runs each call group on a loop of its
        # own): made on the loop that checks.
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    async def check(self, targets: Iterable[Target]) -> None:
        """Check every target of ``targets`` not checked yet (only OpenAI targets are); checks
        asked for at once (a grader's concurrent questions) run one after the other, so each
        server is asked once.

        Raises:
            ConfigError: a missing key, or a model id its server does not list.
            EndpointError: a server that cannot be reached or refuses the key.
        """
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        async with self._lock[1]:
            await self._check(targets)

    async def _check(self, targets: Iterable[Target]) -> None:
        todo: list[OpenAITarget] = []
        for target in dict.fromkeys(targets):
            if not isinstance(target, OpenAITarget):
                continue
            name = target.config.name
            if name in self._failed:
                raise self._failed[name]
            if name not in self._checked:
                todo.append(target)
        if not todo:
            return
        missing = [t for t in todo if t.config.needs_key and t.config.api_key() is None]
        if missing:
            error = ConfigError("; ".join(_no_key(t) for t in missing))
            self._failed.update((t.config.name, error) for t in missing)
            raise error
        endpoints: dict[tuple[str, str | None], list[OpenAITarget]] = {}
        for target in todo:
            endpoints.setdefault((target.endpoint, target.config.api_key()), []).append(target)
        results = await asyncio.gather(
            *(_check_endpoint(group) for group in endpoints.values()), return_exceptions=True
        )
        first: ArcanosError | None = None
        for group, result in zip(endpoints.values(), results, strict=True):
            if isinstance(result, ArcanosError):
                self._failed.update((t.config.name, result) for t in group)
                # A server that cannot be reached first: it explains the rest of the run.
                if first is None or (
                    isinstance(result, EndpointError) and not isinstance(first, EndpointError)
                ):
                    first = result
            elif isinstance(result, BaseException):
                raise result
            else:
                self._checked.update(t.config.name for t in group)
        if first is not None:
            raise first


def _no_key(target: OpenAITarget) -> str:
    config = target.config
    where = (
        "the OpenAI API needs a key"
        if config.base_url is None
        else f"{target.endpoint} takes one (api_key_env names it)"
    )
    return f"target {config.name!r}: {config.api_key_env} is not set: {where}"


def _names(targets: Sequence[OpenAITarget]) -> str:
    names = [repr(t.config.name) for t in targets]
    return f"target {names[0]}" if len(names) == 1 else f"targets {', '.join(names)}"


async def _check_endpoint(targets: Sequence[OpenAITarget]) -> None:
    """Check the targets that share one endpoint and key."""
    url = targets[0].endpoint
    checked = [t for t in targets if t.config.check_model]
    if not checked:
        await _connect(targets)
        return
    listed = await _models(targets[0], _names(targets))
    if listed is None:
        return
    unknown = [t for t in checked if t.config.model not in listed]
    if unknown:
        raise ConfigError(
            "; ".join(
                f"target {t.config.name!r}: model {shorten(t.config.model)!r} is not served by "
                f"{url}, which lists {_some(t.config.model, listed)} (check the model id, or set "
                "check_model = false for a server that answers to any name)"
                for t in unknown
            )
        )
    log.info("pre-flight: %s lists the model of %s", url, _names(checked))


def _some(model: str, listed: Sequence[str]) -> str:
    """A few of the models a server lists, the nearest to ``model`` first."""
    if not listed:
        return "no model"
    near = difflib.get_close_matches(model, listed, n=3, cutoff=0.5)
    ordered = [*near, *(m for m in listed if m not in near)]
    return first_few([shorten(m) for m in ordered], limit=5)


async def _models(target: OpenAITarget, names: str) -> list[str] | None:
    """The model ids the target's server lists, or ``None`` when it cannot tell (no
    ``/v1/models``, or an answer that is not a model list)."""
    import openai

    url = target.endpoint
    client = target.client
    answer_s = float(client.timeout) if isinstance(client.timeout, (int, float)) else 60.0
    timeout = openai.Timeout(answer_s, connect=CONNECT_S)
    listed: list[str] = []
    try:
        async for model in client.models.list(timeout=timeout):
            model_id = getattr(model, "id", None)
            if isinstance(model_id, str):
                listed.append(model_id)
            if len(listed) >= _MAX_LISTED:
                break
    except openai.APIStatusError as exc:
        status = exc.status_code
        if status in _DENIED:
            what = "authentication failed" if status == 401 else "access denied"
            raise EndpointError(
                f"{names}: {what} ({status}) at {url}: check {target.config.api_key_env}"
            ) from None
        why = "no model list" if status in _NOT_IMPLEMENTED else "the server's trouble"
        log.info(
            "pre-flight: GET %s/models answered %s (%s): model ids not checked", url, status, why
        )
        return None
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        raise EndpointError(
            f"{names}: cannot reach {url}: {_transport_said(exc, answer_s)}"
        ) from None
    except Exception as exc:  # the SDK parses a hostile body into anything: not a model list
        log.info(
            "pre-flight: GET %s/models did not answer with a model list (%s): model ids not "
            "checked",
            url,
            shorten(f"{type(exc).__name__}: {exc}", 200),
        )
        return None
    return listed


def _transport_said(exc: BaseException, timeout: float) -> str:
    """What the transport said: the root cause of an SDK connection error, masked and cut (the
    SDK's aiohttp transport reports a refused connection as a timeout: the cause tells)."""
    from arcanos_eval._redact import mask

    root = _root(exc)
    if isinstance(root, TimeoutError) or "Timeout" in type(root).__name__:
        return f"no connection within {CONNECT_S:g} s or no answer within {timeout:g} s"
    text = " ".join(str(root).split()) or type(root).__name__
    if root is not exc and type(root).__name__ not in text:
        text = f"{type(root).__name__}: {text}"
    return mask(text, limit=300)


def _root(exc: BaseException) -> BaseException:
    """The first exception of the chain (causes, else the exception being handled)."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            return exc
        exc = inner
        seen.add(id(exc))


async def _connect(targets: Sequence[OpenAITarget]) -> None:
    """Open and close a TCP connection to the targets' server: it is there, without a request
    (a server that answers to any model name need not list them)."""
    url = targets[0].endpoint
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxies = urllib.request.getproxies()
    if (parts.scheme in proxies or "all" in proxies) and not urllib.request.proxy_bypass(host):
        log.info("pre-flight: %s is reached through a proxy: connection not checked", url)
        return
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_S)
    except asyncio.TimeoutError:
        raise EndpointError(
            f"{_names(targets)}: cannot reach {url}: no connection within {CONNECT_S:g} s"
        ) from None
    except OSError as exc:
        said = " ".join(str(exc).split()) or type(exc).__name__
        raise EndpointError(f"{_names(targets)}: cannot reach {url}: {said}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    log.info("pre-flight: %s accepts connections (model ids not checked: check_model = false)", url)
