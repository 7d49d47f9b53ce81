"""Request gate before the routes: body size, lenient JSON, binding, resource names.

For ARM (``/subscriptions/...``) and batch invocation (``/batch/...``) requests
with a body, an ASGI middleware:

1. refuses bodies over the limit (413, from ``Content-Length`` or while reading);
2. parses them with :mod:`.jsonread` (trailing commas, raw control characters)
   and answers 400 for what the service would refuse (not JSON, ``NaN``, too deep);
3. binds ARM bodies (:mod:`.binding`: names and enums case-insensitive, numeric strings);
4. refuses PUTs whose resource name breaks Azure's rules (:mod:`.names`);

then hands the routes (and ``--spec`` validation) the canonical, strict JSON.
Online scoring bodies only get the size limit: they belong to the scoring script.
Nothing is stored when a request is refused here.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import jsonread
from .arm_errors import ArmError
from .binding import Binder
from .names import name_problem

#: Largest ARM or batch-invocation body (ARM's own request limit is 4 MB).
MAX_ARM_BODY = 4 * 1024 * 1024
#: Largest online scoring body.
MAX_SCORING_BODY = 100 * 1024 * 1024


class _TooLarge(Exception):
    pass


class BodyMiddleware:
    """The request gate (see the module docstring)."""

    def __init__(self, app: ASGIApp, binder: Binder | None = None) -> None:
        self.app = app
        self.binder = binder or Binder()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in ("PUT", "PATCH", "POST"):
            await self.app(scope, receive, send)
            return
        arm = path.startswith("/subscriptions/")
        if not (arm or path.startswith(("/batch/", "/online/"))):
            await self.app(scope, receive, send)
            return
        limit = MAX_SCORING_BODY if path.startswith("/online/") else MAX_ARM_BODY
        try:
            raw = await _read(scope, receive, limit)
        except _TooLarge:
            response = ArmError(
                413, "RequestEntityTooLarge", f"The request body is larger than the limit of {limit // (1024 * 1024)} MiB."
            ).response()
            await response(scope, receive, send)
            return
        if not path.startswith("/online/"):
            problem, raw = self._canonical(path, raw, arm)
            code = "BadRequest"
            if problem is None and arm and scope["method"] == "PUT":
                problem, code = name_problem(path), "UserError"
            if problem is not None:
                await ArmError(400, code, problem).response()(scope, receive, send)
                return
        await self.app(scope, replaying(raw, receive), send)

    def _canonical(self, path: str, raw: bytes, arm: bool) -> tuple[str | None, bytes]:
        """(problem or None, the strict JSON to hand on)."""
        if not raw.strip():
            return None, raw
        try:
            body: Any = jsonread.loads(raw)
        except jsonread.JsonReadError as exc:
            return str(exc), raw
        if arm:
            body = self.binder.bind(body, structured_inner_properties="/computes/" in path.lower())
        return None, jsonread.dumps(body)


def replaying(raw: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the already-read body ``raw`` once, then the rest of the
    connection's messages (for middlewares that read the body before the routes)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay


async def _read(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
