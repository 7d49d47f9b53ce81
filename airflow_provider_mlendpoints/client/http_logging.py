"""Quiet HTTP logging: azure-core's header dumps at WARNING, one line per request on demand.

azure-core's ``HttpLoggingPolicy`` (used by every Azure SDK client, e.g. azure-storage-blob)
logs each request and response with their headers at INFO on
``azure.core.pipeline.policies.http_logging_policy``: two multi-line records per blob uploaded.
:func:`quiet_azure_http_logging` sets that logger (and ARM's) to WARNING unless a level was set
on it explicitly, in task processes, the triggerer and the emulator's workers.

This client's pipelines log through :class:`OneLineHttpLoggingPolicy` instead: when the
connection sets ``verbose_http``, one INFO record per request (method, URL without its query
string, status, duration); never headers, bodies or query strings (SAS signatures). INFO, not
DEBUG: Airflow's task log handler drops records below ``[logging] logging_level`` (INFO by
default) whatever their logger's own level, so a DEBUG line would never reach the task log that
the user turned the option on to read.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.rest import AsyncHttpResponse, HttpRequest, HttpResponse

#: The client's own per-request lines (INFO, only when ``verbose_http`` is set).
HTTP_LOGGER = logging.getLogger("airflow_provider_mlendpoints.client.http")

#: azure-core's (and azure-mgmt-core's) request/response header dumps, at INFO by default.
AZURE_HTTP_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.mgmt.core.policies",
)

_STARTED = "mlendpoints_http_started"


def quiet_azure_http_logging() -> None:
    """Set azure-core's HTTP loggers to WARNING, unless someone already chose their level."""
    for name in AZURE_HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def redact_url(url: str) -> str:
    """``url`` without its query string and fragment (which may hold a SAS signature)."""
    parts = urlsplit(url)
    query = "?…" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + query


class OneLineHttpLoggingPolicy(SansIOHTTPPolicy[HttpRequest, HttpResponse | AsyncHttpResponse]):
    """One INFO line per request and answer when ``verbose``: ``GET <url> -> 200 (12 ms)``.

    :param verbose: log at all (the connection's ``verbose_http``).
    :param logger: where to log (default :data:`HTTP_LOGGER`).
    """

    def __init__(self, verbose: bool = False, logger: logging.Logger | None = None) -> None:
        self._verbose = verbose
        self._logger = logger or HTTP_LOGGER
        if verbose and not self._logger.isEnabledFor(logging.INFO):
            self._logger.setLevel(logging.INFO)

    def on_request(self, request: Any) -> None:
        if self._verbose:
            request.context[_STARTED] = time.monotonic()

    def on_response(self, request: Any, response: Any) -> None:
        if not self._verbose or not self._logger.isEnabledFor(logging.INFO):
            return
        started = request.context.get(_STARTED)
        took = f" ({(time.monotonic() - started) * 1000:.0f} ms)" if started is not None else ""
        http_request = request.http_request
        self._logger.info(
            "%s %s -> %s%s",
            http_request.method,
            redact_url(http_request.url),
            response.http_response.status_code,
            took,
        )

    def on_exception(self, request: Any) -> None:
        if self._verbose and self._logger.isEnabledFor(logging.INFO):
            http_request = request.http_request
            self._logger.info("%s %s -> no answer", http_request.method, redact_url(http_request.url))
