"""A target's fine-tuning job, read through the official SDK's fine-tuning API.

:func:`read_fine_tune` retrieves the job a target names (``fine_tuning.jobs.retrieve``), or finds it
from the target's ``ft:`` model id by listing the jobs (``fine_tuning.jobs.list``, newest first, at
most :data:`MAX_LIST_PAGES` pages of :data:`LIST_PAGE_SIZE`), then reads its last events
(``fine_tuning.jobs.list_events``), its checkpoints (``fine_tuning.jobs.checkpoints.list``) and the
names and sizes of its files (``files.retrieve``). It never raises for what a server does: a job
that cannot be read gives a :class:`~arcanos_eval.model.FineTune` whose ``problem`` says why
(``provenance unavailable: ...``), with what the server said masked like any error of a call.
A file that cannot be described (deleted after training, say) only leaves its name unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from arcanos_eval.config import TargetConfig
from arcanos_eval.model import FineTune
from arcanos_eval.model._finetune import CHECKPOINTS_KEPT, EVENTS_KEPT
from arcanos_eval.targets.openai import classify_error

__all__ = ["LIST_PAGE_SIZE", "MAX_LIST_PAGES", "find_job_pages", "read_fine_tune"]

LIST_PAGE_SIZE = 100
# A lookup by model id reads at most this many pages (1,000 jobs, newest first): an account with
# more names its job with `fine_tune_job` instead of paying for a longer search at every run.
MAX_LIST_PAGES = 10
_NO_KEY = "unused"  # a local server may need no key, but the SDK wants a string
_RETRIES = 2  # the SDK's own: a run start should survive one 429 or 5xx


def _plain(value: Any) -> Any:
    """An SDK object as the JSON it was read from (the SDK does not validate answers, so a field
    may hold anything; :meth:`FineTune.from_job` reads it defensively)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return to_dict(mode="json", warnings=False)
        except Exception:  # a value pydantic cannot serialise: nothing usable in it
            return {}
    return value if isinstance(value, Mapping) else {}


def _data(page: Any) -> list[Any]:
    data = getattr(page, "data", None)
    return [_plain(item) for item in data] if isinstance(data, list) else []


class _Unavailable(Exception):
    """Why the job cannot be read: the sentence after ``provenance unavailable: ``."""


async def find_job_pages(
    client: Any, model: str, *, page_size: int = LIST_PAGE_SIZE, max_pages: int = MAX_LIST_PAGES
) -> tuple[Any | None, int]:
    """The newest job whose ``fine_tuned_model`` is ``model`` (``None`` if none among the first
    ``max_pages`` pages), and how many jobs were looked at."""
    page = await client.fine_tuning.jobs.list(limit=page_size)
    seen = 0
    for number in range(max_pages):
        for job in getattr(page, "data", None) or []:
            seen += 1
            if getattr(job, "fine_tuned_model", None) == model:
                return job, seen
        if number + 1 == max_pages or not page.has_next_page():
            break
        page = await page.get_next_page()
    return None, seen


async def read_fine_tune(
    config: TargetConfig,
    *,
    timeout_s: float,
    page_size: int = LIST_PAGE_SIZE,
    max_pages: int = MAX_LIST_PAGES,
) -> FineTune:
    """The provenance of ``config``'s model: the job ``fine_tune_job`` names, or the one that
    produced its ``ft:`` model id. Never raises for a server's answer (see the module docstring).
    """
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        api_key=config.api_key() or _NO_KEY,
        base_url=config.base_url,
        max_retries=_RETRIES,
        timeout=timeout_s,
    )
    read_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        job = await _job(client, config, page_size, max_pages)
        job_id = getattr(job, "id", None)
        if not isinstance(job_id, str) or not job_id:
            raise _Unavailable("the server's answer is not a fine-tuning job (it has no id)")
        events = _data(await client.fine_tuning.jobs.list_events(job_id, limit=EVENTS_KEPT))
        checkpoints = _data(
            await client.fine_tuning.jobs.checkpoints.list(job_id, limit=CHECKPOINTS_KEPT)
        )
        files = {}
        for key in ("training_file", "validation_file"):
            file_id = getattr(job, key, None)
            if isinstance(file_id, str) and file_id:
                described = await _describe_file(client, file_id)
                if described:
                    files[file_id] = described
        return FineTune.from_job(
            _plain(job),
            source="api",
            target_model=config.model,
            events=events,
            checkpoints=checkpoints,
            files=files,
            recorded_at=read_at,
        )
    except _Unavailable as why:
        return FineTune.missing("api", config.model, f"provenance unavailable: {why}")
    except Exception as exc:  # whatever the SDK raised: a finding about the server, not a crash
        failure = classify_error(exc)
        return FineTune.missing(
            "api",
            config.model,
            f"provenance unavailable: reading the fine-tuning job failed: {failure}",
        )
    finally:
        await client.close()


async def _job(client: Any, config: TargetConfig, page_size: int, max_pages: int) -> Any:
    if config.fine_tune_job is not None:
        return await client.fine_tuning.jobs.retrieve(config.fine_tune_job)
    job, seen = await find_job_pages(client, config.model, page_size=page_size, max_pages=max_pages)
    if job is None:
        raise _Unavailable(
            f"no fine-tuning job produced {config.model!r} (looked at the {seen} most recent "
            f"jobs); name it with fine_tune_job in [tool.arcanos_eval.targets.{config.name}]"
        )
    return job


async def _describe_file(client: Any, file_id: str) -> dict[str, Any]:
    try:
        found = _plain(await client.files.retrieve(file_id))
    except Exception:  # a deleted or unreadable file leaves its name unknown, nothing more
        return {}
    return {"filename": found.get("filename"), "bytes": found.get("bytes")}
