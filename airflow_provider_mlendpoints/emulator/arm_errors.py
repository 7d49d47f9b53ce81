"""ARM-style error bodies: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class ArmError(Exception):
    """Raised by handlers; turned into an ARM error response by the app."""

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


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ARM error envelope."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON response carrying the ARM error envelope."""
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


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
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
