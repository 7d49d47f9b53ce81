"""Waiting logic without a server: Retry-After between polls, transient errors, one event."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_mlendpoints.client import Job, ServiceError, ThrottledError, ValidationError
from airflow_provider_mlendpoints.client.config import WorkspaceConfig
from airflow_provider_mlendpoints.operators import _base
from airflow_provider_mlendpoints.triggers.batch_job import BatchJobTrigger

CONFIG = WorkspaceConfig("sub", "rg", "ws")


def _job(status: str, **props) -> Job:
    return Job.from_rest({"name": "j1", "properties": {"status": status, **props}})


class FakeJobs:
    def __init__(self, answers):
        self.answers = list(answers)

    async def get(self, name):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeHook:
    def __init__(self, answers):
        self.client = type("C", (), {"config": CONFIG, "jobs": FakeJobs(answers)})()
        self.closed = False

    async def get_async_conn(self):
        return self.client

    async def aclose(self):
        self.closed = True


def _run_trigger(answers, monkeypatch, **kwargs):
    hook = FakeHook(answers)
    trigger = BatchJobTrigger("c", "j1", poll_interval=1.0, **kwargs)
    monkeypatch.setattr(trigger, "_hook", lambda: hook)
    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    async def collect():
        return [e.payload async for e in trigger.run()]

    events = asyncio.run(collect())
    return events, slept, hook


def test_trigger_waits_retry_after_and_rides_out_transient_errors(monkeypatch):
    answers = [
        _job("Running"),
        ThrottledError("busy", status=429, retry_after=7.0),
        ServiceError("boom", status=503),
        _job("Completed"),
    ]
    events, slept, hook = _run_trigger(answers, monkeypatch)
    assert [e["status"] for e in events] == ["success"]  # exactly one event
    assert slept == [1.0, 7.0, 1.0]  # max(poll_interval, Retry-After)
    assert hook.closed


def test_trigger_failed_job_message_and_permanent_error(monkeypatch):
    failed = _job("Failed", error={"code": "UserError", "message": "bad input"})
    events, _, _ = _run_trigger([failed], monkeypatch)
    assert events[0]["status"] == "failed"
    assert events[0]["message"] == "batch job 'j1' Failed: UserError: bad input"
    assert events[0]["studio_url"].startswith("https://ml.azure.com/runs/j1?wsid=/subscriptions/sub/")

    events, _, hook = _run_trigger([ValidationError("nope", status=400)], monkeypatch)
    assert [e["status"] for e in events] == ["error"] and "nope" in events[0]["message"]
    assert hook.closed

    events, slept, _ = _run_trigger([ServiceError("down", status=500)] * 7, monkeypatch)
    assert [e["status"] for e in events] == ["error"] and len(slept) == 5


def test_sync_poll_uses_the_same_rules(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(_base.time, "sleep", slept.append)
    answers = iter([_job("Queued"), ThrottledError("busy", status=429, retry_after=3.0), _job("Canceled")])

    def fetch():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    from airflow_provider_mlendpoints.triggers._common import job_event

    event = _base.poll_until(
        fetch,
        lambda job: job_event(CONFIG, job, "j1"),
        lambda job: {"status": "timeout"},
        lambda exc, job: {"status": "error"},
        poll_interval=0.5,
        timeout=None,
    )
    assert event["status"] == "canceled" and slept == [0.5, 3.0]


def test_operator_execute_complete_raises_with_link():
    from airflow.sdk.exceptions import AirflowException

    op = _base.MLEndpointsBaseOperator(task_id="t")
    with pytest.raises(
        AirflowException, match=r"provisioning Failed: Quota.*Azure ML Studio: https://ml.azure.com/"
    ):
        op.execute_complete(
            {},
            {
                "status": "failed",
                "resource": "batch_endpoint",
                "message": "batch endpoint 'e' provisioning Failed: Quota exceeded",
                "studio_url": "https://ml.azure.com/endpoints/batch/e/details",
            },
        )
    assert op.execute_complete(
        {}, {"status": "success", "resource": "batch_endpoint", "details": {"name": "e"}}
    ) == {"name": "e"}


# -- wait_for="deleted": a failed deletion carries the service's reason ---------------------------
def _endpoint(state: str | None, **props):
    from airflow_provider_mlendpoints.client import BatchEndpoint

    return BatchEndpoint.from_rest({"name": "ep", "properties": {"provisioningState": state, **props}})


class _FakeStatus:
    status = "Failed"
    reason = "InternalError: the endpoint's storage could not be released"


class FakeResourceClient:
    def __init__(self, answers):
        self.answers = list(answers)
        self.config = CONFIG
        self.status_urls: list[str] = []
        outer = self

        class Endpoints:
            async def get(self, name):
                answer = outer.answers.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                return answer

        class Operations:
            async def get_status(self, url):
                outer.status_urls.append(url)
                return _FakeStatus()

        self.batch_endpoints = Endpoints()
        self.operations = Operations()


def _run_provisioning_trigger(answers, monkeypatch, **kwargs):
    from airflow_provider_mlendpoints.triggers.provisioning import ProvisioningStateTrigger

    client = FakeResourceClient(answers)
    hook = FakeHook([])
    hook.client = client
    trigger = ProvisioningStateTrigger("c", "batch_endpoint", "ep", poll_interval=1.0, **kwargs)
    monkeypatch.setattr(trigger, "_hook", lambda: hook)

    async def fake_sleep(seconds):
        pass

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    async def collect():
        return [e.payload async for e in trigger.run()]

    return asyncio.run(collect()), client


def test_deleted_mode_failed_deletion_and_404(monkeypatch):
    from airflow_provider_mlendpoints.client import NotFoundError

    # Succeeded (old state right after the DELETE) and Deleting keep waiting; Failed ends it.
    events, client = _run_provisioning_trigger(
        [_endpoint("Succeeded"), _endpoint("Deleting"), _endpoint("Failed")],
        monkeypatch,
        wait_for="deleted",
        operation_url="https://arm/operations/op1",
    )
    (event,) = events
    assert event["status"] == "failed" and event["deleted"] is False
    assert event["message"] == (
        "deleting batch endpoint 'ep' ended Failed: InternalError: the endpoint's storage could not be released"
    )
    assert client.status_urls == ["https://arm/operations/op1"]

    # Without an operation URL the resource's own error is the reason.
    events, _ = _run_provisioning_trigger(
        [_endpoint("Deleting"), _endpoint("Failed", error={"code": "Conflict", "message": "locked"})],
        monkeypatch,
        wait_for="deleted",
    )
    assert events[0]["status"] == "failed" and events[0]["message"].endswith("ended Failed: Conflict: locked")

    events, _ = _run_provisioning_trigger(
        [_endpoint("Deleting"), NotFoundError("gone", status=404)], monkeypatch, wait_for="deleted"
    )
    assert events[0]["status"] == "success" and events[0]["deleted"] is True

    # The default ("provisioned") mode: the 404 is an error event, Succeeded a success.
    events, _ = _run_provisioning_trigger([NotFoundError("gone", status=404)], monkeypatch)
    assert events[0]["status"] == "error" and "deleted" not in events[0]
    events, _ = _run_provisioning_trigger([_endpoint("Creating"), _endpoint("Succeeded")], monkeypatch)
    assert events[0]["status"] == "success" and "deleted" not in events[0]
    # A deleted-mode timeout also says the resource is not gone (the operator fails, no restart).
    events, _ = _run_provisioning_trigger(
        [_endpoint("Deleting")], monkeypatch, wait_for="deleted", timeout=0.5
    )
    assert events[0]["status"] == "timeout" and events[0]["deleted"] is False
    assert "still Deleting" in events[0]["message"]
