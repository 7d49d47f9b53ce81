"""Views over non-resource response bodies: endpoint keys and tokens, datastore secrets, logs, skus.

Secrets are kept out of ``repr()``; ``secret_values()`` lists them for a secrets masker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class SecretBearing(Protocol):
    """A parsed answer that carries secrets (keys, tokens): they are registered before it is handed out."""

    def secret_values(self) -> list[str]: ...


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class EndpointKeys:
    """Primary/secondary keys of an endpoint; never shown by ``repr()``."""

    primary_key: str | None = field(repr=False, default=None)
    secondary_key: str | None = field(repr=False, default=None)

    @classmethod
    def from_rest(cls, body: Any) -> EndpointKeys:
        body = _dict(body)
        return cls(primary_key=body.get("primaryKey"), secondary_key=body.get("secondaryKey"))

    def secret_values(self) -> list[str]:
        """The secret strings, for a secrets masker."""
        return [v for v in (self.primary_key, self.secondary_key) if v]

    def __repr__(self) -> str:
        return "EndpointKeys(primary_key=***, secondary_key=***)"


@dataclass(frozen=True)
class EndpointToken:
    """An AML token for an online endpoint; never shown by ``repr()``."""

    access_token: str | None = field(repr=False, default=None)
    token_type: str | None = None
    expiry_time_utc: int | None = None
    refresh_after_time_utc: int | None = None

    @classmethod
    def from_rest(cls, body: Any) -> EndpointToken:
        body = _dict(body)
        return cls(
            access_token=body.get("accessToken"),
            token_type=body.get("tokenType"),
            expiry_time_utc=body.get("expiryTimeUtc"),
            refresh_after_time_utc=body.get("refreshAfterTimeUtc"),
        )

    def secret_values(self) -> list[str]:
        """The secret strings, for a secrets masker."""
        return [self.access_token] if self.access_token else []

    def __repr__(self) -> str:
        return f"EndpointToken(access_token=***, expiry_time_utc={self.expiry_time_utc!r})"


@dataclass(frozen=True)
class DatastoreSecrets:
    """Secrets of a datastore (account key, SAS, SP secret); never shown by ``repr()``."""

    secrets_type: str | None
    values: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_rest(cls, body: Any) -> DatastoreSecrets:
        body = _dict(body)
        return cls(
            secrets_type=body.get("secretsType"), values={k: v for k, v in body.items() if k != "secretsType"}
        )

    @property
    def account_key(self) -> str | None:
        return self.values.get("key")

    @property
    def sas_token(self) -> str | None:
        return self.values.get("sasToken")

    def secret_values(self) -> list[str]:
        """The secret strings (keys, SAS, client secrets), for a secrets masker."""
        out: list[str] = []

        def walk(v: Any) -> None:
            if isinstance(v, str) and v:
                out.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)

        walk(self.values)
        return out

    def __repr__(self) -> str:
        return f"DatastoreSecrets(secrets_type={self.secrets_type!r}, values=***)"


@dataclass(frozen=True)
class DeploymentLogs:
    """Container logs of an online deployment."""

    content: str

    @classmethod
    def from_rest(cls, body: Any) -> DeploymentLogs:
        return cls(content=_dict(body).get("content") or "")


@dataclass(frozen=True)
class SkuSetting:
    """One entry of an online deployment's ``skus`` list."""

    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_rest(cls, body: Any) -> SkuSetting:
        return cls(raw=_dict(body))

    @property
    def sku(self) -> dict[str, Any]:
        return _dict(self.raw.get("sku"))

    @property
    def capacity(self) -> dict[str, Any]:
        return _dict(self.raw.get("capacity"))
