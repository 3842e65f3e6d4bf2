"""The loopback server's fine-tuning endpoints through the real ``openai`` SDK: the official
response shapes, newest-first order, cursor pagination and errors."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

from arcanos_eval.errors import UsageError
from arcanos_eval.testing import FineTuneJob, OpenAIServer
from arcanos_eval.testing.fixtures import OpenAIServerFactory

KEY = "sk-test-loopback-0123456789abcdef"
JOBS = [
    FineTuneJob(f"ftjob-{n}", fine_tuned_model=f"ft:gpt-4.1-2025-04-14:personal:arca-{n}")
    for n in range(5)
]


@pytest.fixture
def server(openai_server_factory: OpenAIServerFactory) -> OpenAIServer:
    return openai_server_factory(fine_tuning_jobs=JOBS, fine_tuning_page_max=2)


@pytest.fixture
def client(server: OpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


def test_bodies_have_the_shapes_of_the_sdk_types(client: openai.OpenAI) -> None:
    jobs = client.fine_tuning.jobs
    # Validated against the SDK's own pydantic models: the SDK itself reads bodies unvalidated.
    job = jobs.with_raw_response.retrieve("ftjob-1").http_response.json()
    assert FineTuningJob.model_validate(job).fine_tuned_model.endswith("arca-1")
    events = jobs.with_raw_response.list_events("ftjob-1", limit=50).http_response.json()
    assert [FineTuningJobEvent.model_validate(e).object for e in events["data"]] == [
        "fine_tuning.job.event"
    ] * 2  # two per page: the server's page_max
    checkpoints = jobs.checkpoints.with_raw_response.list("ftjob-1").http_response.json()
    steps = [FineTuningJobCheckpoint.model_validate(c).step_number for c in checkpoints["data"]]
    assert steps == [200, 100]  # latest first
    assert checkpoints["data"][0]["fine_tuned_model_checkpoint"].endswith(":ckpt-step-200")


def test_the_lists_page_through_after_and_limit(
    server: OpenAIServer, client: openai.OpenAI
) -> None:
    # The SDK asks for 100 a page; the server gives 2, and the SDK follows `after`.
    assert [job.id for job in client.fine_tuning.jobs.list(limit=100)] == [j.id for j in JOBS]
    assert server.path_counts["/v1/fine_tuning/jobs"] == 3
    first = client.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in first.data] == ["ftjob-0"] and first.has_more
    last = client.fine_tuning.jobs.list(after="ftjob-3", limit=5)
    assert [j.id for j in last.data] == ["ftjob-4"] and last.has_more is False
    events = [e.message for e in client.fine_tuning.jobs.list_events("ftjob-0")]
    assert events[0] == "The job has successfully completed"  # newest first
    assert events[-1] == "Created fine-tuning job" and len(events) == 6


def test_a_job_can_be_failed_or_still_running(server: OpenAIServer, client: openai.OpenAI) -> None:
    server.fine_tuning_jobs = [
        FineTuneJob("ftjob-f", fine_tuned_model=None, status="failed", error=("bad", "Bad data")),
        FineTuneJob("ftjob-r", fine_tuned_model=None, status="running", trained_tokens=None),
    ]
    failed = client.fine_tuning.jobs.retrieve("ftjob-f")
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.message == "Bad data" and failed.finished_at is not None
    running = client.fine_tuning.jobs.retrieve("ftjob-r")
    assert running.finished_at is None and running.trained_tokens is None


def test_errors_are_openai_shaped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="ftjob-nope"):
        client.fine_tuning.jobs.retrieve("ftjob-nope")
    with pytest.raises(openai.BadRequestError, match="after"):
        client.fine_tuning.jobs.list(after="ftjob-unknown")
    with pytest.raises(openai.BadRequestError, match="limit"):
        client.fine_tuning.jobs.list(limit=0)
    with pytest.raises(openai.NotFoundError):
        client.get("/fine_tuning/jobs/ftjob-1/nothing", cast_to=object)


def test_a_page_max_below_one_is_refused() -> None:
    with pytest.raises(UsageError, match="fine_tuning_page_max"):
        OpenAIServer(fine_tuning_page_max=0)
