"""Typed errors from real ARM error bodies; no secrets in messages."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.client import (
    AuthError,
    ConflictError,
    MLEndpointsError,
    NotFoundError,
    ServiceError,
    ThrottledError,
    ValidationError,
)
from airflow_provider_mlendpoints.client.errors import error_from_parts, parse_error_body

ARM_VALIDATION = {
    "error": {
        "code": "UserError",
        "message": "A required property 'properties.model' is missing.",
        "details": [{"code": "BadArgument", "message": "model is required", "target": "properties.model"}],
    }
}


@pytest.mark.parametrize(
    "status,cls",
    [
        (400, ValidationError),
        (422, ValidationError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (412, ConflictError),
        (429, ThrottledError),
        (500, ServiceError),
        (503, ServiceError),
        (None, ServiceError),
    ],
)
def test_status_maps_to_class(status, cls):
    err = error_from_parts(status, {"x-ms-request-id": "r-1"}, ARM_VALIDATION)
    assert type(err) is cls and isinstance(err, MLEndpointsError)
    assert err.code == "UserError" and err.request_id == "r-1"
    assert "properties.model" in err.message
    assert err.details[0]["target"] == "properties.model"


def test_message_format_and_bytes_body():
    err = error_from_parts(
        404,
        {"x-ms-correlation-request-id": "c-9"},
        b'{"error": {"code": "ResourceNotFound", "message": "ep not found"}}',
    )
    assert str(err) == "404 ResourceNotFound: ep not found (request id c-9)"


def test_throttled_carries_retry_after():
    err = error_from_parts(429, {"Retry-After": "17"}, {"error": {"code": "TooManyRequests", "message": "m"}})
    assert isinstance(err, ThrottledError) and err.retry_after == 17.0


def test_non_json_and_empty_bodies():
    assert parse_error_body("<html>gateway</html>") == (None, "<html>gateway</html>", [])
    assert parse_error_body(b"") == (None, None, [])
    err = error_from_parts(502, {}, None)
    assert isinstance(err, ServiceError) and str(err) == "502: HTTP 502"


def test_error_over_http_does_not_echo_request_secrets(client, fake):
    fake.route(
        "POST",
        ".*/datastores/s/listSecrets",
        (403, {}, {"error": {"code": "AuthorizationFailed", "message": "no permission"}}),
    )
    with pytest.raises(AuthError) as info:
        client.datastores.list_secrets("s")
    assert "test-token" not in str(info.value) and "Bearer" not in str(info.value)
