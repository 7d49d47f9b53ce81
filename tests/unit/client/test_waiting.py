"""The one waiting procedure without a server: pace, Retry-After, transient errors, deletion grace.

The same procedure runs sync (operators, sensors) and async (the trigger); each rule is checked
on both drivers with a scripted group of answers and a fake clock.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_mlendpoints.client import (
    NotFoundError,
    ServiceError,
    ThrottledError,
    ValidationError,
    _steps,
)
from airflow_provider_mlendpoints.client.config import WorkspaceConfig
from airflow_provider_mlendpoints.client.resources import BatchEndpoint, Job
from airflow_provider_mlendpoints.client.waiting import (
    JobEvent,
    ResourceEvent,
    WaitSettings,
    WaitTarget,
    event_from_json,
    run_wait,
)

CONFIG = WorkspaceConfig("sub", "rg", "ws")
DEFAULT = WaitSettings()
EMULATOR = WorkspaceConfig("sub", "rg", "ws", management_url="http://127.0.0.1:8123")


class Answer:
    def __init__(self, body: dict, headers: dict | None = None) -> None:
        self.body, self.headers = body, headers or {}

    def text(self) -> str:
        return json.dumps(self.body)


def job(status: str, **props) -> Answer:
    return Answer({"name": "j1", "properties": {"status": status, **props}})


def endpoint(state: str, headers: dict | None = None, **props) -> Answer:
    return Answer({"name": "ep", "properties": {"provisioningState": state, **props}}, headers)


class Group:
    """One scripted operation group: each GET pops the next answer (or raises it)."""

    def __init__(self, answers, parse, is_async: bool) -> None:
        self.answers, self.parse, self.is_async, self.gets = list(answers), parse, is_async, 0

    def get_response(self, *names):
        self.gets += 1
        answer = self.answers.pop(0)

        def result():
            if isinstance(answer, Exception):
                raise answer
            return answer

        if self.is_async:

            async def coro():
                return result()

            return coro()
        return result()

    def parse_answer(self, body):
        return self.parse(body)


class Status:
    status, reason = "Failed", "InternalError: the endpoint's storage could not be released"


class Client:
    def __init__(self, answers, *, config=CONFIG, is_async=False) -> None:
        self.config = config
        self.jobs = Group(answers, Job.from_rest, is_async)
        self.jobs._x = type("X", (), {"is_async": is_async})()
        self.batch_endpoints = Group(answers, BatchEndpoint.from_rest, is_async)
        self.batch_endpoints.answers = self.jobs.answers  # one script
        self.status_urls: list[str] = []
        outer = self

        class Operations:
            def get_status(self, url):
                outer.status_urls.append(url)
                return Status()

        self.operations = Operations()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(params=["sync", "async"])
def drive(request, monkeypatch):
    """Run a wait on the sync or the async driver with a fake clock; returns (event, clock, client)."""
    is_async = request.param == "async"

    def run(answers, target, settings=DEFAULT, config=CONFIG):
        clock = Clock()
        client = Client(answers, config=config, is_async=is_async)
        monkeypatch.setattr(_steps.time, "sleep", clock.sleep)

        async def fake_sleep(seconds):
            clock.sleep(seconds)

        monkeypatch.setattr(_steps.asyncio, "sleep", fake_sleep)
        result = run_wait(client, target, settings, clock=clock)
        event = asyncio.run(result) if is_async else result
        return event, clock, client

    return run


def test_short_first_poll_then_backoff_to_the_interval(drive):
    answers = [job("Running")] * 6 + [job("Completed")]
    event, clock, _ = drive(answers, WaitTarget.job("j1"), WaitSettings(poll_interval=10.0, first_poll=1.0))
    assert isinstance(event, JobEvent) and event.status == "success" and event.job_status == "Completed"
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_retry_after_wins_and_transient_errors_are_ridden_out(drive):
    answers = [
        job("Running", ),
        ThrottledError("busy", status=429, retry_after=7.0),
        ServiceError("boom", status=503),
        Answer({"name": "j1", "properties": {"status": "Running"}}, {"Retry-After": "3"}),
        job("Completed"),
    ]
    event, clock, client = drive(answers, WaitTarget.job("j1"), WaitSettings(poll_interval=10.0, first_poll=1.0))
    assert event.status == "success" and client.jobs.gets == 5
    # 1 (first poll), 7 (the 429's Retry-After), 4 (backoff after a 5xx), 3 (the answer's Retry-After)
    assert clock.slept == [1.0, 7.0, 4.0, 3.0]


def test_permanent_error_and_too_many_transient_errors_end_with_one_error_event(drive):
    event, _, _ = drive([ValidationError("nope", status=400)], WaitTarget.job("j1"))
    assert event.status == "error" and "nope" in event.message and event.retryable is False

    event, clock, _ = drive([ServiceError("down", status=500)] * 7, WaitTarget.job("j1"))
    assert event.status == "error" and len(clock.slept) == 5 and event.retryable is True


def test_timeout_event_names_the_last_state(drive):
    event, clock, _ = drive(
        [job("Running")] * 10, WaitTarget.job("j1"), WaitSettings(poll_interval=1.0, first_poll=1.0, timeout=2.5)
    )
    assert event.status == "timeout" and "still Running after 2.5 s" in event.message
    assert sum(clock.slept) <= 2.5


def test_failed_job_user_error_is_not_retryable_system_error_is(drive):
    failed = job("Failed", error={"code": "UserError", "message": "bad input"})
    event, _, _ = drive([failed], WaitTarget.job("j1"))
    assert event.status == "failed" and event.message == "batch job 'j1' Failed: UserError: bad input"
    assert event.retryable is False
    assert event.studio_url.startswith("https://ml.azure.com/runs/j1?wsid=/subscriptions/sub/")

    event, _, _ = drive([job("Failed", error={"code": "SystemError", "message": "node lost"})], WaitTarget.job("j1"))
    assert event.status == "failed" and event.retryable is True


def test_deletion_grace_then_failure_reason_from_the_operation(drive):
    target = WaitTarget.resource("batch_endpoint", "ep", until="deleted", operation_url="https://arm/op1")
    # Right after the DELETE the old Failed state is not the deletion's outcome (within the grace).
    answers = [endpoint("Failed"), endpoint("Deleting"), endpoint("Failed")]
    event, _, client = drive(answers, target, WaitSettings(poll_interval=1.0, first_poll=1.0, deletion_grace=30.0))
    assert isinstance(event, ResourceEvent) and event.status == "failed" and event.deleted is False
    assert event.message == (
        "deleting batch endpoint 'ep' ended Failed: InternalError: the endpoint's storage could not be released"
    )
    assert client.status_urls == ["https://arm/op1"]

    event, _, _ = drive([endpoint("Deleting"), NotFoundError("gone", status=404)], target)
    assert event.status == "success" and event.deleted is True and event.message == "batch endpoint 'ep' deleted"
    # After the grace period a Failed state without Deleting is the outcome.
    event, clock, _ = drive(
        [endpoint("Failed")] * 5, target, WaitSettings(poll_interval=10.0, first_poll=10.0, deletion_grace=15.0)
    )
    assert event.status == "failed" and clock.slept == [10.0, 10.0]


def test_provisioned_and_idle(drive):
    target = WaitTarget.resource("batch_endpoint", "ep")
    event, _, _ = drive([NotFoundError("gone", status=404)], target)
    assert event.status == "error" and event.deleted is None
    failed = endpoint("Failed", error={"code": "BadArgument", "message": "bad model"})
    event, _, _ = drive([endpoint("Creating"), failed], target)
    assert event.status == "failed" and event.retryable is False and event.message.endswith("BadArgument: bad model")

    idle = WaitTarget.resource("batch_endpoint", "ep", until="idle")
    event, _, _ = drive([endpoint("Updating"), NotFoundError("gone", status=404)], idle)
    assert event.status == "success" and event.details is None
    event, _, _ = drive([endpoint("Updating"), endpoint("Failed")], idle)
    assert event.status == "success" and event.provisioning_state == "Failed"


def test_operation_retry_after_paces_the_first_poll(drive):
    target = WaitTarget.resource("batch_endpoint", "ep", first_delay=0.25)
    event, clock, _ = drive([endpoint("Creating"), endpoint("Succeeded")], target)
    assert event.status == "success" and clock.slept == [0.25]


def test_events_round_trip_through_json_and_links_follow_the_emulator(drive):
    event, _, _ = drive([endpoint("Succeeded")], WaitTarget.resource("batch_endpoint", "ep"), config=EMULATOR)
    data = json.loads(json.dumps(event.to_json()))
    assert data["event"] == "resource" and "last" not in data and "error" not in data
    again = event_from_json(data)
    assert again == event
    assert event.studio_url == (
        "http://127.0.0.1:8123/studio/subscriptions/sub/resourceGroups/rg/workspaces/ws/batchEndpoints/ep"
    )
    with pytest.raises(ValueError, match="not a wait event"):
        event_from_json({"status": "success"})


def test_targets_validate_and_round_trip():
    with pytest.raises(ValueError, match="needs deployment_name"):
        WaitTarget.resource("batch_deployment", "e")
    with pytest.raises(ValueError, match="resource must be one of"):
        WaitTarget.resource("workspace", "e")
    with pytest.raises(ValueError, match="wait_for must be one of"):
        WaitTarget.resource("compute", "x", until="gone")
    target = WaitTarget.resource("online_deployment", "e", "d", until="deleted", operation_url="u")
    assert WaitTarget.from_json(json.loads(json.dumps(target.to_json()))) == target
    assert WaitSettings(poll_interval=0.5).delay(0) == 0.5  # the first poll is never above the interval


def test_waiting_and_registry_import_without_airflow_and_without_pipelines():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['airflow'] = None; "
        "import airflow_provider_mlendpoints.client.waiting, airflow_provider_mlendpoints.client.kinds, "
        "airflow_provider_mlendpoints.client.resource_bodies; "
        "assert 'aiohttp' not in sys.modules and 'azure.storage.blob' not in sys.modules, 'pipelines imported'; "
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr
