"""ARM-style error bodies: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class ArmError(Exception):
    """An ARM error: raised by handlers (the app answers it), or answered directly with :meth:`response`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """The JSON response carrying the ARM error envelope."""
        return JSONResponse(error_body(self.code, self.message, self.details), status_code=self.status, headers=self.headers)


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ARM error envelope."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def not_found(kind: str, name: str) -> ArmError:
    """The 404 the service answers for an unknown resource."""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The {kind} '{name}' was not found in the workspace (emulator).",
    )


def arm_error_handler(_request: Any, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`ArmError`."""
    assert isinstance(exc, ArmError)
    return exc.response()
