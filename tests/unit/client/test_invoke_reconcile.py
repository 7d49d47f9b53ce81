"""Reconciled batch invocation: a lost answer is settled by finding the job, never by a blind replay.

Against the real emulator (scripted faults before and after processing) and, for the
corner cases the emulator cannot produce, against the scripted fake server.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from airflow_provider_mlendpoints.client import (
    AsyncMLEndpointsClient,
    AsyncStaticTokenCredential,
    Job,
    MLEndpointsClient,
    NotFoundError,
    RetrySettings,
    StaticTokenCredential,
    WorkspaceConfig,
    batch_invoke_body,
)
from airflow_provider_mlendpoints.client.converge import create_or_update_and_wait
from airflow_provider_mlendpoints.client.errors import DuplicateInvocationError, InvocationOutcomeUnknownError
from airflow_provider_mlendpoints.client.reconcile import (
    CORRELATION_KEY,
    ReconcileSettings,
    matching_jobs,
    request_uris,
)

from .conftest import WS

FAST = ReconcileSettings(settle_delay=0.2, look_for=0.3)  # two looks
POST_ROUTE = "POST /batch/{sub}/{rg}/{ws}/{endpoint}/jobs"
LIST_ROUTE = "GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}/jobs"


def _config(emu) -> WorkspaceConfig:
    return WorkspaceConfig(
        emu.subscription,
        emu.resource_group,
        emu.workspace,
        management_url=emu.base_url,
        retry=RetrySettings(retry_total=3, backoff_factor=0.01, backoff_max=0.1, max_retry_after=0.2),
        polling_interval=0.05,
        max_polling_interval=0.2,
    )


@pytest.fixture
def workspace(emulator_clean, tmp_path):
    """An emulator with batch endpoint ``be`` (default deployment ``d``) and an input folder."""
    emu = emulator_clean
    emu.set_config(provisioning_delay=0.05)
    data = tmp_path / "in"
    data.mkdir()
    (data / "a.txt").write_text("x")
    with MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c:
        create_or_update_and_wait(c.batch_endpoints, "be-1", body={"location": "eastus", "properties": {}})
        create_or_update_and_wait(
            c.batch_deployments, "be-1", "d", body={"location": "eastus", "properties": {}}
        )
    emu.reset_counters()
    return emu, str(data)


def _jobs(emu) -> list[Job]:
    with MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c:
        return c.jobs.list()


def test_adopts_the_job_when_the_answer_is_dropped_after_processing(workspace, caplog):
    emu, data = workspace
    emu.set_faults(script=[{"fault": "after_drop", "match": "^/batch/", "method": "POST"}])
    caplog.set_level(logging.WARNING, "airflow_provider_mlendpoints.client.reconcile")
    with MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c:
        job = c.invoke_batch_endpoint("be-1", batch_invoke_body({"in": data}), reconcile_settings=FAST)
    counters = emu.requests()
    assert counters["faults_by_route"][POST_ROUTE] == {"after_drop": 1}
    assert counters["by_route"][POST_ROUTE] == 1  # never sent twice
    assert counters["by_route"][LIST_ROUTE] >= 1
    jobs = _jobs(emu)
    assert [j.name for j in jobs] == [job.name]
    assert jobs[0].properties["tags"][CORRELATION_KEY]
    assert "reattached to job " + job.name in caplog.text


def test_async_adopts_the_job_after_a_500_after_processing(workspace):
    emu, data = workspace
    emu.set_faults(script=[{"fault": "after_500", "match": "^/batch/", "method": "POST"}])

    async def run():
        async with AsyncMLEndpointsClient(_config(emu), AsyncStaticTokenCredential(emu.token)) as c:
            return await c.invoke_batch_endpoint(
                "be-1", batch_invoke_body({"in": data}), reconcile_settings=FAST, correlation_id="cid-1"
            )

    job = asyncio.run(run())
    assert emu.requests()["by_route"][POST_ROUTE] == 1
    jobs = _jobs(emu)
    assert [j.name for j in jobs] == [job.name]
    assert jobs[0].properties["properties"][CORRELATION_KEY] == "cid-1"


def test_posts_again_when_the_connection_dropped_before_processing(workspace):
    emu, data = workspace
    emu.set_faults(script=[{"fault": "drop", "match": "^/batch/", "method": "POST"}])
    with MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c:
        job = c.invoke_batch_endpoint("be-1", batch_invoke_body({"in": data}), reconcile_settings=FAST)
    counters = emu.requests()
    assert counters["by_route"][POST_ROUTE] == 2
    # looked twice (settle delay) before sending again, and once after the answer, for a late duplicate
    assert counters["by_route"][LIST_ROUTE] == 3
    assert [j.name for j in _jobs(emu)] == [job.name]


def test_gives_up_without_a_job_when_every_attempt_is_lost(workspace):
    emu, data = workspace
    emu.set_faults(script=[{"fault": "500", "match": "^/batch/", "method": "POST", "times": 3}])
    with (
        MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c,
        pytest.raises(InvocationOutcomeUnknownError) as err,
    ):
        c.invoke_batch_endpoint("be-1", batch_invoke_body({"in": data}), reconcile_settings=FAST)
    assert err.value.attempts == 3 and err.value.correlation_id in str(err.value)
    assert emu.requests()["by_route"][POST_ROUTE] == 3
    assert _jobs(emu) == []


def test_a_4xx_raises_at_once_without_looking(workspace):
    emu, data = workspace
    with (
        MLEndpointsClient(_config(emu), StaticTokenCredential(emu.token)) as c,
        pytest.raises(NotFoundError),
    ):
        c.invoke_batch_endpoint("be-1", batch_invoke_body({"in": data}), deployment_name="nope")
    counters = emu.requests()
    assert counters["by_route"][POST_ROUTE] == 1
    assert LIST_ROUTE not in counters["by_route"]


# -- matching rules and the corner cases, on the scripted fake server ----------------------------

EP = f"{WS}/batchEndpoints/ep1"


def _ep(url: str) -> dict:
    return {
        "name": "ep1",
        "properties": {
            "provisioningState": "Succeeded",
            "scoringUri": f"{url}/score/ep1",
            "defaults": {"deploymentName": "blue"},
        },
    }


def _job(name: str, *, created: str = "2999-01-01T00:00:00.0000000Z", cid: str | None = None, **over) -> dict:
    props = {"azureml.endpointname": "ep1", "azureml.deploymentname": "blue"}
    tags = {}
    if cid:
        tags[CORRELATION_KEY] = cid
    body = {
        "name": name,
        "systemData": {"createdAt": created},
        "properties": {
            "status": "Running",
            "properties": props,
            "tags": tags,
            "inputs": {
                "in": {
                    "jobInputType": "uri_folder",
                    "uri": "azureml://subscriptions/s/resourcegroups/r/workspaces/w/datastores/ws/paths/in/",
                }
            },
            "outputs": {"out": {"uri": "azureml://datastores/ws/paths/out"}},
        },
    }
    body["properties"].update(over)
    return body


BODY = batch_invoke_body(
    {"in": "azureml://datastores/ws/paths/in"}, {"out": "azureml://datastores/ws/paths/out/"}
)


def test_matching_rules():
    inputs, outputs = request_uris(BODY)
    jobs = [
        # ours by its id, even though the service recorded the input in another form
        Job.from_rest(_job("mine", cid="c1", inputs={"in": {"uri": "https://acct.blob/x/in"}})),
        Job.from_rest(_job("other-client", cid="c2")),
        Job.from_rest(_job("unmarked")),
        Job.from_rest(_job("old", created="2000-01-01T00:00:00Z")),
        Job.from_rest(_job("other-input", inputs={"in": {"uri": "azureml://datastores/ws/paths/x"}})),
        Job.from_rest(
            _job("other-dep", properties={"azureml.endpointname": "ep1", "azureml.deploymentname": "green"})
        ),
    ]
    kwargs = dict(endpoint_name="EP1", deployment_name="blue", since=1e9, inputs=inputs, outputs=outputs)
    assert [j.name for j in matching_jobs(jobs, correlation_id="c1", **kwargs)] == ["mine"]
    # no job carries our id: the unmarked candidates (never another client's, never an old one)
    assert [j.name for j in matching_jobs(jobs, correlation_id="c9", **kwargs)] == ["unmarked"]


def test_several_candidates_raise_and_start_nothing(client, fake):
    fake.route("GET", EP, (200, {}, _ep(fake.url)))
    fake.route("POST", "/score/ep1", (500, {}, {"error": {"code": "InternalError", "message": "maybe"}}))
    fake.route("GET", f"{WS}/jobs", (200, {}, {"value": [_job("j1"), _job("j2")]}))
    with pytest.raises(DuplicateInvocationError) as err:
        client.invoke_batch_endpoint("ep1", BODY, reconcile_settings=FAST)
    assert err.value.job_names == ["j1", "j2"] and "j1, j2" in str(err.value)
    assert len(fake.calls("POST", "/score/ep1")) == 1


def test_an_unreadable_job_list_raises_outcome_unknown(client, fake):
    fake.route("GET", EP, (200, {}, _ep(fake.url)))
    fake.route("POST", "/score/ep1", (502, {}, None))
    fake.route("GET", f"{WS}/jobs", (403, {}, {"error": {"code": "AuthorizationFailed", "message": "no"}}))
    with pytest.raises(InvocationOutcomeUnknownError, match="could not be read"):
        client.invoke_batch_endpoint("ep1", BODY, reconcile_settings=FAST)
    assert len(fake.calls("POST", "/score/ep1")) == 1


def test_refused_attempts_are_sent_again_without_looking(client, fake):
    throttle = (429, {"Retry-After": "0"}, {"error": {"code": "TooManyRequests", "message": "slow"}})
    fake.route("GET", EP, (200, {}, _ep(fake.url)))
    fake.sequence("POST", "/score/ep1", [throttle] * 4 + [(200, {}, _job("ok"))])
    job = client.invoke_batch_endpoint("ep1", BODY, reconcile_settings=FAST)
    assert job.name == "ok"
    assert fake.calls("GET", f"{WS}/jobs") == []
    cids = {r.json()["properties"]["tags"][CORRELATION_KEY] for r in fake.calls("POST", "/score/ep1")}
    assert len(cids) == 1  # every attempt carries the same correlation id


def test_async_transport_error_after_sending_is_never_replayed_by_the_pipeline(workspace):
    """aiohttp reports a server-closed connection as ServiceRequestError ("not sent"): no replay."""
    from airflow_provider_mlendpoints.client import ServiceError

    emu, data = workspace
    emu.set_faults(script=[{"fault": "after_drop", "match": "^/batch/", "method": "POST"}])

    async def run():
        async with AsyncMLEndpointsClient(_config(emu), AsyncStaticTokenCredential(emu.token)) as c:
            with pytest.raises(ServiceError):
                await c.invoke_batch_endpoint("be-1", batch_invoke_body({"in": data}), reconcile=False)

    asyncio.run(run())
    assert emu.requests()["by_route"][POST_ROUTE] == 1
    assert len(_jobs(emu)) == 1


def test_job_wait_honors_retry_after_and_rides_out_throttling(client, fake):
    running = {"name": "j1", "properties": {"status": "Running"}}
    done = {"name": "j1", "properties": {"status": "Completed"}}
    throttle = (429, {"Retry-After": "0"}, {"error": {"code": "TooManyRequests", "message": "slow"}})
    fake.sequence(
        "GET",
        f"{WS}/jobs/j1",
        [(200, {"Retry-After": "0"}, running)] + [throttle] * 4 + [(200, {}, running), (200, {}, done)],
    )
    seen = []
    job = client.jobs.wait("j1", poll_interval=0.01, on_poll=lambda j, ra: seen.append((j.status, ra)))
    assert job.status == "Completed"
    assert seen == [("Running", 0.0), ("Running", None), ("Completed", None)]
    assert len(fake.calls("GET", f"{WS}/jobs/j1")) == 7


def test_job_wait_times_out(client, fake):
    from airflow_provider_mlendpoints.client import ServiceError

    fake.route("GET", f"{WS}/jobs/j2", (200, {}, {"name": "j2", "properties": {"status": "Running"}}))
    with pytest.raises(ServiceError, match="still Running"):
        client.jobs.wait("j2", timeout=0.1, poll_interval=0.02)


def test_the_look_window_covers_the_read_timeout_after_a_timeout():
    from azure.core.exceptions import ServiceResponseError, ServiceResponseTimeoutError

    from airflow_provider_mlendpoints.client.errors import RESPONSE_TIMEOUT, error_from_azure

    assert error_from_azure(ServiceResponseTimeoutError("Read timed out")).code == RESPONSE_TIMEOUT
    assert error_from_azure(ServiceResponseError("Connection aborted")).code is None
    settings = ReconcileSettings(look_margin=10)
    assert settings.window(300, slow=True) == 310  # the request may still be held by a front end
    assert settings.window(300, slow=False) == 10  # answered (5xx) or dropped at once
    assert ReconcileSettings(look_for=1.5).window(300, slow=True) == 1.5
