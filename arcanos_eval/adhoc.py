"""One-off calls for hand-written tests and notebooks, through the same engine as suite runs.

``target_caller(config)("candidate")("When does the raid start?")`` answers from the golden store
(``golden/adhoc/<target>.jsonl``) or the cache when it can, and calls the model otherwise, with the
engine's retries and limits; recording follows the configured mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from arcanos_eval.config import RunConfig
from arcanos_eval.engine import Call, Engine
from arcanos_eval.errors import ConfigError
from arcanos_eval.model import Case, Response
from arcanos_eval.scorers._registry import unknown_name_message
from arcanos_eval.targets.base import build_request
from arcanos_eval.targets.replay import GoldenStore, ResponseCache

__all__ = ["ADHOC_SUITE", "target_caller"]

ADHOC_SUITE = "adhoc"


def target_caller(config: RunConfig) -> Callable[[str], Callable[..., Response]]:
    """A factory: target name -> ``(prompt, *, messages=None, tools=None, schema=None) -> Response``."""

    def for_target(name: str) -> Callable[..., Response]:
        if name not in config.targets:
            raise ConfigError(unknown_name_message("target", name, list(config.targets)))
        target_config = config.targets[name]

        def call(
            prompt: str | None = None,
            *,
            messages: list[Mapping[str, Any]] | None = None,
            tools: list[Mapping[str, Any]] | None = None,
            schema: Mapping[str, Any] | None = None,
        ) -> Response:
            from arcanos_eval.run import make_target

            turns = tuple(messages or ({"role": "user", "content": prompt or ""},))
            probe = Case(
                id="probe",
                suite_id=ADHOC_SUITE,
                category="adhoc",
                messages=turns,
                tools=tuple(tools or ()),
                response_schema=schema,
            )
            # The case id is the request's fingerprint, so equal requests share one recording.
            case_id = build_request(target_config, probe).fingerprint[:16]
            case = Case(
                id=case_id,
                suite_id=ADHOC_SUITE,
                category="adhoc",
                messages=turns,
                tools=tuple(tools or ()),
                response_schema=schema,
            )
            target = make_target(target_config, config)
            engine = Engine(
                {name: target},
                mode=config.mode,
                golden=GoldenStore(config.golden),
                cache=ResponseCache(config.cache) if config.cache else None,
                concurrency=1,
                max_retries=config.max_retries,
                timeout_s=config.timeout_s,
                progress=False,
            )
            answers: list[Response] = []

            async def go() -> None:
                try:
                    await engine.run(
                        [Call(case, name, 0, build_request(target_config, case))],
                        lambda _, response: answers.append(response),
                    )
                finally:
                    await target.aclose()

            asyncio.run(go())
            return answers[0]

        return call

    return for_target
