"""Typed errors built from ARM error bodies ``{"error": {"code", "message", "details"}}``.

Messages carry the HTTP status, the service's error code and message and the
request id; never a request body, header value or secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: ``code`` of the ServiceError raised when the request was sent and no answer came within the read timeout.
RESPONSE_TIMEOUT = "ResponseTimeout"

_REQUEST_ID_HEADERS = (
    "x-ms-request-id",
    "x-ms-correlation-request-id",
    "x-request-id",
    "x-ms-client-request-id",
)


class MLEndpointsError(Exception):
    """Base of every error raised by the client.

    :ivar status: HTTP status code, or None when no response was received.
    :ivar code: the service's error code (e.g. ``ResourceNotFound``).
    :ivar message: the service's message.
    :ivar request_id: the service's request id, for support tickets.
    :ivar details: the ``details`` list of the ARM error, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        details: list[Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details = details or []
        super().__init__(self._render())

    def _render(self) -> str:
        head = " ".join(p for p in (str(self.status) if self.status else "", self.code or "") if p)
        text = f"{head}: {self.message}" if head else self.message
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text


class NotFoundError(MLEndpointsError):
    """404: the resource does not exist."""


class ConflictError(MLEndpointsError):
    """409 or 412: the resource is busy, exists, or changed meanwhile."""


class ValidationError(MLEndpointsError):
    """400 or 422: the request body or parameters were rejected."""


class AuthError(MLEndpointsError):
    """401 or 403: authentication failed or the principal lacks permission."""


class ThrottledError(MLEndpointsError):
    """429: still throttled after the bounded retries.

    :ivar retry_after: the server's last Retry-After in seconds, if given.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServiceError(MLEndpointsError):
    """5xx, an unexpected status, a failed long-running operation, or no response at all."""


def _class_for(status: int | None) -> type[MLEndpointsError]:
    if status is None:
        return ServiceError
    if status == 404:
        return NotFoundError
    if status in (409, 412):
        return ConflictError
    if status in (400, 422):
        return ValidationError
    if status in (401, 403):
        return AuthError
    if status == 429:
        return ThrottledError
    return ServiceError


def parse_error_body(body: Any) -> tuple[str | None, str | None, list[Any]]:
    """Extract (code, message, details) from an ARM error body (dict, bytes or str)."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body) if body.strip() else None
        except ValueError:
            return None, body.strip()[:500] or None, []
    if not isinstance(body, Mapping):
        return None, None, []
    err = body.get("error", body)
    if not isinstance(err, Mapping):
        return None, str(err)[:500], []
    code = err.get("code")
    message = err.get("message")
    details = err.get("details") or []
    return (str(code) if code else None), (str(message) if message else None), list(details)


def _request_id(headers: Mapping[str, str] | None) -> str | None:
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    for name in _REQUEST_ID_HEADERS:
        if lower.get(name):
            return lower[name]
    return None


def error_from_parts(
    status: int | None, headers: Mapping[str, str] | None, body: Any, *, default_message: str | None = None
) -> MLEndpointsError:
    """Build the typed error for an HTTP status, response headers and error body."""
    code, message, details = parse_error_body(body)
    cls = _class_for(status)
    msg = message or default_message or f"HTTP {status}"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": _request_id(headers),
        "details": details,
    }
    if cls is ThrottledError:
        retry_after = None
        lower = {k.lower(): v for k, v in (headers or {}).items()}
        try:
            retry_after = float(lower["retry-after"]) if lower.get("retry-after") else None
        except ValueError:
            retry_after = None
        return ThrottledError(msg, retry_after=retry_after, **kwargs)
    return cls(msg, **kwargs)


def error_from_response(response: Any, *, default_message: str | None = None) -> MLEndpointsError:
    """Build the typed error from an azure-core HTTP response (sync or async, already read)."""
    try:
        body = response.text()
    except Exception:  # body not read or not text
        body = None
    return error_from_parts(response.status_code, response.headers, body, default_message=default_message)


def error_from_azure(exc: Exception) -> MLEndpointsError:
    """Convert an azure-core exception (HttpResponseError, ServiceRequestError, ...) to a typed error."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        err = error_from_response(
            response, default_message=getattr(exc, "message", None) or type(exc).__name__
        )
        # A failed LRO reports the operation's error, not the (successful) initial response's.
        inner = getattr(exc, "error", None)
        if inner is not None and getattr(inner, "code", None):
            err = type(err)(
                getattr(inner, "message", None) or err.message,
                status=err.status,
                code=inner.code,
                request_id=err.request_id,
            )
        return err
    from azure.core.exceptions import ServiceResponseTimeoutError

    code = RESPONSE_TIMEOUT if isinstance(exc, ServiceResponseTimeoutError) else None
    return ServiceError(f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}", code=code)


class DuplicateInvocationError(ConflictError):
    """An invocation's answer was lost and several jobs could be the one it started.

    :ivar job_names: the candidate jobs; none was adopted and no other job was started.
    """

    def __init__(self, message: str, *, job_names: list[str], correlation_id: str) -> None:
        self.job_names = job_names
        self.correlation_id = correlation_id
        super().__init__(message, status=None, code="AmbiguousInvocation")


class InvocationOutcomeUnknownError(ServiceError):
    """An invocation's answer was lost and whether it started a job could not be settled.

    Look for a job carrying ``correlation_id`` (tag or property ``mlendpoints.correlation_id``)
    before invoking again. ``__cause__`` is the last failure.
    """

    def __init__(self, message: str, *, correlation_id: str, attempts: int) -> None:
        self.correlation_id = correlation_id
        self.attempts = attempts
        super().__init__(message, code="InvocationOutcomeUnknown")
