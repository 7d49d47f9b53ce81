"""The Airflow side of waiting without a server: the one trigger yields one event, operators turn
events into results or failures (at once when no retry can fix them).

The procedure's own rules (pace, Retry-After, transient errors, deletion grace) are tested in
``tests/unit/client/test_waiting.py``.
"""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest

from airflow_provider_mlendpoints.client import ServiceError, ThrottledError
from airflow_provider_mlendpoints.client.config import WorkspaceConfig
from airflow_provider_mlendpoints.operators import _base
from airflow_provider_mlendpoints.triggers.batch_job import BatchJobTrigger
from airflow_provider_mlendpoints.triggers.provisioning import ProvisioningStateTrigger
from airflow_provider_mlendpoints.triggers.wait import WaitTrigger

CONFIG = WorkspaceConfig("sub", "rg", "ws")


class Answer:
    def __init__(self, status: str, **props) -> None:
        self.body = {"name": "j1", "properties": {"status": status, **props}}
        self.headers: dict[str, str] = {}

    def text(self) -> str:
        return json.dumps(self.body)


class FakeJobs:
    def __init__(self, answers) -> None:
        self.answers = list(answers)
        self._x = type("X", (), {"is_async": True})()

    async def get_response(self, name):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def parse_answer(self, body):
        from airflow_provider_mlendpoints.client import Job

        return Job.from_rest(body)


class FakeHook:
    def __init__(self, answers) -> None:
        self.client = type("C", (), {"config": CONFIG, "jobs": FakeJobs(answers)})()
        self.closed = False

    async def get_async_conn(self):
        return self.client

    async def aclose(self):
        self.closed = True


def _run(trigger, answers, monkeypatch):
    hook = FakeHook(answers)
    monkeypatch.setattr(trigger, "_hook", lambda: hook)

    async def fake_sleep(seconds):
        pass

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)

    async def collect():
        return [e.payload async for e in trigger.run()]

    return asyncio.run(collect()), hook


def test_one_trigger_serializes_as_itself_and_yields_one_event(monkeypatch):
    trigger = BatchJobTrigger("c", "j1", poll_interval=1.0, cancel_on_kill=False)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_mlendpoints.triggers.wait.WaitTrigger"
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert again.serialize() == trigger.serialize() and again.poll_interval == 1.0

    answers = [Answer("Running"), ThrottledError("busy", status=429, retry_after=7.0), ServiceError("x", status=503)]
    events, hook = _run(again, [*answers, Answer("Completed")], monkeypatch)
    assert [e["status"] for e in events] == ["success"] and events[0]["event"] == "job"
    assert hook.closed

    prov = ProvisioningStateTrigger("c", "online_deployment", "e", "d", wait_for="deleted", operation_url="u")
    rebuilt = WaitTrigger(**prov.serialize()[1])
    assert rebuilt.wait_for == "deleted" and rebuilt.operation_url == "u" and rebuilt.target.deployment_name == "d"


def test_operator_fails_at_once_when_no_retry_can_fix_it():
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    op = _base.MLEndpointsBaseOperator(task_id="t")
    user_error = {
        "event": "job", "status": "failed", "job_name": "j", "job_status": "Failed",
        "message": "batch job 'j' Failed: UserError: bad input", "studio_url": "https://ml.azure.com/runs/j",
        "retryable": False,
    }  # fmt: skip
    with pytest.raises(AirflowFailException, match=r"UserError: bad input \(Azure ML Studio: https://ml.azure.com/"):
        op.execute_complete({}, user_error)
    system_error = {**user_error, "message": "batch job 'j' Failed: SystemError: node lost", "retryable": True}
    with pytest.raises(AirflowException) as info:
        op.execute_complete({}, system_error)
    assert not isinstance(info.value, AirflowFailException)

    success = {
        "event": "resource", "status": "success", "resource": "batch_endpoint", "endpoint_name": "e",
        "deployment_name": None, "provisioning_state": "Succeeded", "message": "ok", "studio_url": None,
        "details": {"name": "e"},
    }  # fmt: skip
    assert op.execute_complete({}, success) == {"name": "e"}
    with pytest.raises(ValueError, match="not a wait event"):
        op.execute_complete({}, {"status": "success", "job_name": "j"})
