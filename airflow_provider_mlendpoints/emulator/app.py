"""The FastAPI application factory.

Request flow (outermost first): faults and counters -> bearer-token check and
``api-version`` check -> the request gate (:mod:`.bodies`: size, lenient JSON,
binding, names) -> OpenAPI body validation (with a spec) -> routes.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from .arm_errors import ArmError, arm_error_handler
from .binding import Binder
from .bodies import BodyMiddleware
from .config import EmulatorConfig
from .context import Emulator
from .faults import ADMIN_PREFIX, RAW_SEND, FaultMiddleware

#: Paths served without the emulator's token: the readiness probe, online scoring (endpoint keys)
#: the discovery document, public as the service's is (it lists URLs, no data), and the studio
#: pages (read-only HTML, never secrets).
AUTH_EXEMPT = (ADMIN_PREFIX + "/health", "/online/", "/discovery", "/studio/")


class EmulatorApp(FastAPI):
    """FastAPI that remembers the server's own ``send`` (to drop connections on purpose)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND] = send
        await super().__call__(scope, receive, send)


def _unauthorized(message: str) -> JSONResponse:
    headers = {
        "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
        'error="invalid_token", error_description="' + message + '"'
    }
    code = "AuthenticationFailed" if "missing" in message.lower() else "InvalidAuthenticationToken"
    return ArmError(401, code, message, headers=headers).response()


_WORKSPACE_CHILD = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+/(?P<type>[^/]+)",
    re.IGNORECASE,
)
#: Resource types below a workspace that the emulator serves.
WORKSPACE_TYPES = frozenset(
    {"batchendpoints", "onlineendpoints", "jobs", "codes", "models", "environments", "data", "datastores", "computes"}
)


def _unknown_resource_type(request: Request) -> str | None:
    """ARM's message for a resource type the workspace does not have (``workspaces/datasets`` of the
    2021 API, say), or None when the path names a known type."""
    match = _WORKSPACE_CHILD.match(request.url.path)
    if match is None or match["type"].lower() in WORKSPACE_TYPES:
        return None
    version = request.query_params.get("api-version", "")
    return (
        f"The resource type 'workspaces/{match['type']}' could not be found in the namespace "
        f"'Microsoft.MachineLearningServices' for api version '{version}'."
    )


def create_app(config: EmulatorConfig | None = None) -> FastAPI:
    """Build the emulator app for ``config`` (defaults: dev token, in memory)."""
    config = config or EmulatorConfig()
    emu = Emulator(config)
    app = EmulatorApp(title="mlendpoints workspace emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emu = emu
    _add_error_handlers(app)
    _include_routes(app)
    _add_middleware(app, emu)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """ARM-shaped error bodies for ArmError, unknown paths and methods, and invalid requests."""
    app.add_exception_handler(ArmError, arm_error_handler)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            unknown = _unknown_resource_type(request)
            if unknown is not None:
                return ArmError(404, "InvalidResourceType", unknown).response()
            return ArmError(404, "NotFound", "No route matches this path (check the path and its casing).").response()
        if exc.status_code == 405:
            return ArmError(405, "MethodNotAllowed", "The method is not allowed on this path.").response()
        return ArmError(exc.status_code, "BadRequest", str(exc.detail)).response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return ArmError(400, "BadRequest", f"Invalid request: {exc.errors()}").response()


def _include_routes(app: FastAPI) -> None:
    from . import (
        lro,
        routes_admin,
        routes_assets,
        routes_dataplane,
        routes_discovery,
        routes_endpoints,
        routes_jobs,
        studio_pages,
    )

    for module in (
        routes_admin, lro, routes_endpoints, routes_assets, routes_jobs, routes_dataplane, routes_discovery, studio_pages,
    ):
        app.include_router(module.router)


def _add_middleware(app: FastAPI, emu: Emulator) -> None:
    """Innermost first: --spec validation, the request gate, the token check, faults and counters."""
    if emu.validator is not None:
        from .openapi_validation import ValidationMiddleware

        app.add_middleware(ValidationMiddleware, validator=emu.validator)
    spec_names = emu.validator.property_names() if emu.validator is not None else ()
    app.add_middleware(BodyMiddleware, binder=Binder(spec_names))

    @app.middleware("http")
    async def _auth(request: Request, call_next: Any) -> Any:
        refusal = _refusal(request, emu.config.token)
        return refusal if refusal is not None else await call_next(request)

    app.add_middleware(FaultMiddleware, emu=emu, routes_app=app)


def _refusal(request: Request, token: str) -> JSONResponse | None:
    """The answer to a request without the emulator's token (or an ARM request without api-version)."""
    path = request.url.path
    if path.startswith(AUTH_EXEMPT):
        return None
    header = request.headers.get("authorization", "")
    if not header:
        return _unauthorized("The Authorization header is missing.")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or given.strip() != token:
        return _unauthorized("The access token is invalid.")
    if path.startswith("/subscriptions/") and not request.query_params.get("api-version"):
        return ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ).response()
    return None
