"""Retry, LRO and invoke-idempotency behaviour against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_mlendpoints.client import (
    BatchEndpoint,
    MLEndpointsClient,
    NotFoundError,
    ServiceError,
    StaticTokenCredential,
    ThrottledError,
    batch_invoke_body,
)

from .conftest import TOKEN, WS, make_config

EP = f"{WS}/batchEndpoints/ep1"
OK_EP = (
    200,
    {},
    {"id": EP, "name": "ep1", "properties": {"provisioningState": "Succeeded", "scoringUri": "{base}/score"}},
)
THROTTLE = (429, {"Retry-After": "0"}, {"error": {"code": "TooManyRequests", "message": "slow down"}})


def ep_body(state: str, base: str) -> dict:
    return {
        "id": EP,
        "name": "ep1",
        "properties": {"provisioningState": state, "scoringUri": f"{base}/score/ep1"},
    }


def test_get_sends_bearer_token_and_api_version(client, fake):
    fake.route("GET", "/.*/batchEndpoints/ep1", (200, {}, ep_body("Succeeded", fake.url)))
    ep = client.batch_endpoints.get("ep1")
    assert isinstance(ep, BatchEndpoint) and ep.provisioning_state == "Succeeded"
    (req,) = fake.calls("GET", "/.*/batchEndpoints/ep1")
    assert req.path == EP
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.query["api-version"] == ["2024-04-01"]


def test_429_with_retry_after_is_retried(client, fake):
    fake.sequence("GET", f"{EP}", [THROTTLE, THROTTLE, (200, {}, ep_body("Succeeded", fake.url))])
    assert client.batch_endpoints.get("ep1").name == "ep1"
    assert len(fake.calls("GET", EP)) == 3


def test_persistent_429_surfaces_as_throttled_error(client, fake):
    fake.route("GET", EP, THROTTLE)
    with pytest.raises(ThrottledError) as info:
        client.batch_endpoints.get("ep1")
    assert info.value.status == 429 and info.value.code == "TooManyRequests"
    assert len(fake.calls("GET", EP)) == 4  # first try + retry_total=3


def test_retry_after_is_capped(client, fake):
    # max_retry_after is 1 s in the test config: a 3600 s Retry-After must not stall the test.
    fake.sequence(
        "GET", EP, [(503, {"Retry-After": "3600"}, None), (200, {}, ep_body("Succeeded", fake.url))]
    )
    assert client.batch_endpoints.get("ep1").name == "ep1"


def test_500_on_get_is_retried_then_raises_service_error(client, fake):
    fake.route(
        "GET",
        EP,
        (500, {"x-ms-request-id": "rid-1"}, {"error": {"code": "InternalError", "message": "boom"}}),
    )
    with pytest.raises(ServiceError) as info:
        client.batch_endpoints.get("ep1")
    assert info.value.request_id == "rid-1" and info.value.code == "InternalError"
    assert len(fake.calls("GET", EP)) == 4


def test_404_is_not_retried(client, fake):
    fake.route("GET", EP, (404, {}, {"error": {"code": "ResourceNotFound", "message": "no such endpoint"}}))
    with pytest.raises(NotFoundError):
        client.batch_endpoints.get("ep1")
    assert len(fake.calls("GET", EP)) == 1


def test_put_201_azure_async_operation_is_polled(client, fake):
    fake.route("PUT", EP, (201, {"Azure-AsyncOperation": "{base}/ops/op1"}, ep_body("Creating", fake.url)))
    fake.sequence(
        "GET", "/ops/op1", [(200, {}, {"status": "InProgress"}), (200, {}, {"status": "Succeeded"})]
    )
    fake.route("GET", EP, (200, {}, ep_body("Succeeded", fake.url)))
    poller = client.batch_endpoints.begin_create_or_update("ep1", {"location": "x", "properties": {}})
    assert poller.polling_url == f"{fake.url}/ops/op1"
    ep = poller.result()
    assert ep.provisioning_state == "Succeeded"
    assert len(fake.calls("GET", "/ops/op1")) == 2
    assert fake.calls("PUT", EP)[0].json() == {"location": "x", "properties": {}}


def test_failed_lro_raises_with_operation_error(client, fake):
    fake.route("PUT", EP, (201, {"Azure-AsyncOperation": "{base}/ops/bad"}, ep_body("Creating", fake.url)))
    fake.route(
        "GET",
        "/ops/bad",
        (200, {}, {"status": "Failed", "error": {"code": "QuotaExceeded", "message": "no quota"}}),
    )
    poller = client.batch_endpoints.begin_create_or_update("ep1", {"location": "x", "properties": {}})
    with pytest.raises(ServiceError) as info:
        poller.result()
    assert info.value.code == "QuotaExceeded" and "no quota" in str(info.value)


def test_delete_202_location_is_polled(client, fake):
    fake.route("DELETE", EP, (202, {"Location": "{base}/ops/del1", "Retry-After": "0"}, None))
    fake.sequence("GET", "/ops/del1", [(202, {"Retry-After": "0"}, None), (204, {}, None)])
    assert client.batch_endpoints.begin_delete("ep1").result() is None
    assert len(fake.calls("GET", "/ops/del1")) == 2


def test_continuation_token_resumes_polling(client, fake):
    fake.route("PUT", EP, (201, {"Azure-AsyncOperation": "{base}/ops/op2"}, ep_body("Creating", fake.url)))
    fake.sequence(
        "GET", "/ops/op2", [(200, {}, {"status": "Running"})] * 3 + [(200, {}, {"status": "Succeeded"})]
    )
    fake.route("GET", EP, (200, {}, ep_body("Succeeded", fake.url)))
    token = client.batch_endpoints.begin_create_or_update("ep1", {"properties": {}}).continuation_token()
    assert TOKEN not in token
    # A fresh client (as in a trigger process) resumes from the token alone.
    with MLEndpointsClient(make_config(fake.url), StaticTokenCredential(TOKEN)) as other:
        resumed = other.batch_endpoints.resume(token)
        assert resumed.result().provisioning_state == "Succeeded"


def test_invoke_post_not_replayed_on_500(client, fake):
    fake.route("GET", EP, (200, {}, ep_body("Succeeded", fake.url)))
    fake.route(
        "POST", "/score/ep1", (500, {}, {"error": {"code": "InternalError", "message": "maybe started"}})
    )
    with pytest.raises(ServiceError):
        client.invoke_batch_endpoint("ep1", batch_invoke_body({"input": "https://x/data/"}), reconcile=False)
    assert len(fake.calls("POST", "/score/ep1")) == 1


def test_invoke_post_not_replayed_on_503_with_retry_after(client, fake):
    fake.route("GET", EP, (200, {}, ep_body("Succeeded", fake.url)))
    fake.route("POST", "/score/ep1", (503, {"Retry-After": "0"}, None))
    with pytest.raises(ServiceError):
        client.invoke_batch_endpoint("ep1", batch_invoke_body({"input": "https://x/data/"}), reconcile=False)
    assert len(fake.calls("POST", "/score/ep1")) == 1


def test_invoke_post_retried_on_429_and_uses_data_plane_headers(client, fake):
    job = {
        "name": "job-1",
        "properties": {
            "status": "NotStarted",
            "interactionEndpoints": {"Studio": {"endpoint": "https://ml.azure.com/runs/job-1"}},
        },
    }
    fake.route("GET", EP, (200, {}, ep_body("Succeeded", fake.url)))
    fake.sequence("POST", "/score/ep1", [THROTTLE, (200, {}, job)])
    result = client.invoke_batch_endpoint(
        "ep1", batch_invoke_body({"input": "https://x/data/"}), deployment_name="blue"
    )
    assert result.name == "job-1" and result.status == "NotStarted"
    assert result.studio_url == "https://ml.azure.com/runs/job-1"
    posts = fake.calls("POST", "/score/ep1")
    assert len(posts) == 2
    assert posts[-1].headers["azureml-model-deployment"] == "blue"
    assert posts[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    sent = posts[-1].json()
    cid = sent["properties"].pop("tags")["mlendpoints.correlation_id"]
    assert sent["properties"].pop("properties") == {"mlendpoints.correlation_id": cid}
    assert posts[0].json()["properties"]["tags"]["mlendpoints.correlation_id"] == cid  # same id on a replay
    assert sent == {
        "properties": {"InputData": {"input": {"JobInputType": "UriFolder", "Uri": "https://x/data/"}}}
    }


def test_online_scoring_with_key_and_throttle(client, fake):
    fake.route(
        "GET",
        f"{WS}/onlineEndpoints/on1",
        (
            200,
            {},
            {"name": "on1", "properties": {"authMode": "Key", "scoringUri": f"{fake.url}/online/score"}},
        ),
    )
    fake.route(
        "POST",
        f"{WS}/onlineEndpoints/on1/listKeys",
        (200, {}, {"primaryKey": "pk-secret", "secondaryKey": "sk"}),
    )
    fake.sequence("POST", "/online/score", [THROTTLE, (200, {}, [1, 2])])
    assert client.score_online("on1", {"data": [[1, 2]]}) == [1, 2]
    last = fake.calls("POST", "/online/score")[-1]
    assert last.headers["Authorization"] == "Bearer pk-secret"
    fake.route("POST", "/online/score", THROTTLE)
    with pytest.raises(ThrottledError):
        client.score_online("on1", {"data": []}, key="k2")


def test_async_client_get_lro_and_throttle(aclient_factory, fake):
    fake.sequence("GET", EP, [THROTTLE, (200, {}, ep_body("Succeeded", fake.url))])
    fake.route("PUT", EP, (201, {"Azure-AsyncOperation": "{base}/ops/a1"}, ep_body("Creating", fake.url)))
    fake.sequence("GET", "/ops/a1", [(200, {}, {"status": "InProgress"}), (200, {}, {"status": "Succeeded"})])
    fake.route("POST", "/score/ep1", (500, {}, None))

    async def run():
        async with aclient_factory() as c:
            ep = await c.batch_endpoints.get("ep1")
            poller = await c.batch_endpoints.begin_create_or_update("ep1", {"properties": {}})
            done = await poller.result()
            with pytest.raises(ServiceError):
                await c.invoke_batch_endpoint("ep1", batch_invoke_body({"i": "https://x/f.csv"}), reconcile=False)
            return ep, done

    ep, done = asyncio.run(run())
    assert ep.name == "ep1" and done.provisioning_state == "Succeeded"
    assert len(fake.calls("POST", "/score/ep1")) == 1


def test_invoke_post_not_replayed_when_connection_drops_after_sending(client, fake):
    from tests.fixtures.fake_arm import DROP

    fake.route("GET", EP, (200, {}, ep_body("Succeeded", fake.url)))
    fake.route("POST", "/score/ep1", (DROP, {}, None))
    with pytest.raises(ServiceError):
        client.invoke_batch_endpoint("ep1", batch_invoke_body({"input": "https://x/data/"}), reconcile=False)
    assert len(fake.calls("POST", "/score/ep1")) == 1


def test_get_is_retried_when_connection_drops(client, fake):
    from tests.fixtures.fake_arm import DROP

    fake.sequence("GET", EP, [(DROP, {}, None), (200, {}, ep_body("Succeeded", fake.url))])
    assert client.batch_endpoints.get("ep1").name == "ep1"
    assert len(fake.calls("GET", EP)) == 2


def test_invoke_to_unreachable_host_fails_typed():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = make_config(f"http://127.0.0.1:{port}")
    with MLEndpointsClient(config, StaticTokenCredential(TOKEN)) as c, pytest.raises(ServiceError):
        c.invoke_batch_endpoint(
            "ep1", batch_invoke_body({"i": "https://x/"}), scoring_uri=f"http://127.0.0.1:{port}/s"
        )
