"""The floor under every live figure: the same calls through the bare ``openai`` SDK.

Makes ``cases x 2`` chat completions against ``base_url`` with ``AsyncOpenAI`` over the SDK's
aiohttp transport (the harness's default), ``concurrency`` in flight, the same messages the
harness sends, and nothing else: no suite, no scoring, no run log, no report. Prints one JSON line
with the whole process's wall time (imports included, as for the harness) and the SDK import time.
``bench/run.py`` runs it in a fresh process beside the harness, so the two can be compared.

    python bench/sdk_floor.py BASE_URL CASES CONCURRENCY
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from openai import AsyncOpenAI, DefaultAioHttpClient  # noqa: E402

IMPORTED = time.perf_counter()


async def main(base_url: str, cases: int, concurrency: int) -> None:
    client = AsyncOpenAI(
        api_key="bench-key-not-secret",
        base_url=base_url,
        max_retries=0,
        http_client=DefaultAioHttpClient(),
    )
    slots = asyncio.Semaphore(concurrency)

    async def call(model: str, system: str, case: int) -> None:
        async with slots:
            answer = await client.chat.completions.create(
                model=model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": f"question {case}: when does the raid start?"},
                ],
            )
            if not answer.choices:
                raise RuntimeError(f"case {case}: no answer")

    await asyncio.gather(
        *(
            call(model, system, case)
            for case in range(cases)
            for model, system in (
                ("bench-base", "You are the base."),
                ("bench-candidate", "You are the candidate."),
            )
        )
    )
    await client.close()


if __name__ == "__main__":
    url, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(main(url, n, conc))
    print(json.dumps({"wall_s": time.perf_counter() - STARTED, "import_s": IMPORTED - STARTED}))
