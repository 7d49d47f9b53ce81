"""Credentials for a fixed bearer token (the emulator, pipelines that already hold a token).

Both classes implement azure-core's ``TokenCredential`` protocol (sync and
async). ``repr()`` never shows the token.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken

from .config import ARM_SCOPE, DATA_PLANE_SCOPE

__all__ = ["ARM_SCOPE", "DATA_PLANE_SCOPE", "AsyncStaticTokenCredential", "StaticTokenCredential"]

_TEN_YEARS = 10 * 365 * 24 * 3600


class StaticTokenCredential:
    """A credential that always returns the same token, whatever the scope.

    :param token: the bearer token.
    :param expires_on: epoch seconds; defaults to far in the future.
    """

    def __init__(self, token: str, expires_on: int | None = None) -> None:
        if not token:
            raise ValueError("StaticTokenCredential needs a non-empty token")
        self._token = token
        self._expires_on = expires_on

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the fixed token (scopes are ignored)."""
        return AccessToken(self._token, self._expires_on or int(time.time()) + _TEN_YEARS)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token=***)"


class AsyncStaticTokenCredential(StaticTokenCredential):
    """The async flavor of :class:`StaticTokenCredential`."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        """Return the fixed token (scopes are ignored)."""
        return StaticTokenCredential.get_token(self, *scopes, **kwargs)

    async def close(self) -> None:  # type: ignore[override]
        """Nothing to release."""

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.close()
