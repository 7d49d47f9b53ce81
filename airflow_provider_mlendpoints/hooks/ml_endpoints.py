"""Airflow hooks that build the Azure ML endpoints client from an Airflow connection.

Connection (conn_type ``azure_ml_endpoints``):

- ``host``: ARM base URL override (sovereign cloud, emulator); default https://management.azure.com
- ``login`` / ``password``: service principal client id / client secret (with extra ``tenant_id``)
- extras: ``subscription_id``, ``resource_group``, ``workspace_name`` (required);
  ``auth_type`` (``default`` | ``service_principal`` | ``managed_identity`` | ``workload_identity`` |
  ``token``; inferred when absent); ``tenant_id``; ``managed_identity_client_id``;
  ``workload_identity_tenant_id``; ``token`` (a fixed bearer token; a secret);
  ``data_plane_url`` (replaces scheme and host of batch scoring URIs); ``api_version``;
  ``storage_urls`` (JSON: storage account -> account URL or connection string, e.g. Azurite);
  ``authority_host`` (AAD authority for sovereign clouds); ``allow_insecure_http`` (bool);
  ``verbose_http`` (bool: one line per HTTP request in the task log; azure-core's header dumps stay at WARNING).

The form (labels, placeholders, secrets as password inputs) is declared in
:mod:`airflow_provider_mlendpoints.connection_form`; its fields are these extras, by name.

Every secret (client secret, token, endpoint keys and tokens, datastore secrets returned by the
service) is registered with Airflow's secrets masker.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from airflow_provider_mlendpoints import connection_form
from airflow_provider_mlendpoints.client.config import (
    DEFAULT_API_VERSION,
    DEFAULT_MANAGEMENT_URL,
    WorkspaceConfig,
)
from airflow_provider_mlendpoints.compat import mask_in_this_process

if TYPE_CHECKING:
    from airflow_provider_mlendpoints.client import AsyncMLEndpointsClient, MLEndpointsClient

# The client's pipelines (azure-core, aiohttp) and the Azure provider's helpers (msrest, oauthlib)
# are imported by the methods that build a client, never when a DAG or operator module is parsed.

CONN_TYPE = connection_form.CONN_TYPE
AUTH_TYPES = connection_form.AUTH_TYPES


def _build_credential(a: dict[str, Any], identity: Any, static_cls: Any, default_factory: Any) -> Any:
    """The credential for the connection's auth type, from ``azure.identity`` or ``azure.identity.aio``.

    ``a`` is :meth:`MLEndpointsHook._credential_args`; ``static_cls`` the fixed-token
    credential and ``default_factory`` the Azure provider's DefaultAzureCredential helper
    of the same flavour (sync or async).
    """
    extra = {"authority": a["authority"]} if a["authority"] else {}
    if a["kind"] == "token":
        if not a["token"]:
            raise ValueError("auth_type token needs the 'token' extra (or the password field)")
        return static_cls(a["token"])
    if a["kind"] == "service_principal":
        if not (a["tenant_id"] and a["client_id"] and a["client_secret"]):
            raise ValueError("a service principal needs tenant_id, login (client id) and password (secret)")
        return identity.ClientSecretCredential(a["tenant_id"], a["client_id"], a["client_secret"], **extra)
    if a["kind"] == "managed_identity":
        if a["mi_client_id"]:
            return identity.ManagedIdentityCredential(client_id=a["mi_client_id"])
        return identity.ManagedIdentityCredential()
    if a["kind"] == "workload_identity":
        kwargs = {
            key: value
            for key, value in (
                ("tenant_id", a["wi_tenant_id"] or a["tenant_id"]),
                ("client_id", a["mi_client_id"] or a["client_id"]),
            )
            if value
        }
        return identity.WorkloadIdentityCredential(**kwargs, **extra)
    return default_factory(
        managed_identity_client_id=a["mi_client_id"], workload_identity_tenant_id=a["wi_tenant_id"]
    )


def _truthy(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class MLEndpointsHook(BaseHook):
    """Sync hook: ``get_conn()`` returns a :class:`~airflow_provider_mlendpoints.client.MLEndpointsClient`.

    :param ml_endpoints_conn_id: the Airflow connection id.
    """

    conn_name_attr = "ml_endpoints_conn_id"
    default_conn_name = "azure_ml_endpoints_default"
    conn_type = CONN_TYPE
    hook_name = connection_form.HOOK_NAME

    def __init__(self, ml_endpoints_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ml_endpoints_conn_id = ml_endpoints_conn_id
        self._client: Any = None

    # -- UI -----------------------------------------------------------------------------------------
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form, for UIs older than Airflow 3.2 (which read
        ``conn-fields`` from the provider info instead; see :mod:`..connection_form`)."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, PasswordField, StringField

        widgets: dict[str, Any] = {}
        for name, (label, schema, _help, _placeholder) in connection_form.EXTRA_FIELDS.items():
            if schema.get("format") == "password":
                widgets[name] = PasswordField(lazy_gettext(label), widget=BS3PasswordFieldWidget())
            elif "boolean" in schema["type"]:
                widgets[name] = BooleanField(lazy_gettext(label), default=False)
            else:
                widgets[name] = StringField(lazy_gettext(label), widget=BS3TextFieldWidget())
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabeled and placeholder fields of the connection form (older UIs)."""
        return {
            "hidden_fields": list(connection_form.HIDDEN_FIELDS),
            "relabeling": dict(connection_form.RELABELING),
            "placeholders": connection_form.placeholders(),
        }

    # -- building -----------------------------------------------------------------------------------
    @cached_property
    def connection(self) -> Any:
        """The Airflow connection (its secrets registered with the masker)."""
        conn = self.get_connection(self.ml_endpoints_conn_id)
        self._mask_connection(conn)
        return conn

    def _field(self, conn: Any, name: str) -> Any:
        from airflow.providers.microsoft.azure.utils import get_field

        return get_field(conn_id=conn.conn_id, conn_type=CONN_TYPE, extras=conn.extra_dejson, field_name=name)

    @staticmethod
    def _mask_connection(conn: Any) -> None:
        if conn.password:
            mask_secret(conn.password)
        extras = conn.extra_dejson
        for key in ("token", f"extra__{CONN_TYPE}__token"):
            if extras.get(key):
                mask_secret(extras[key])
        storage_urls = extras.get("storage_urls") or {}
        if isinstance(storage_urls, str):
            try:
                storage_urls = json.loads(storage_urls)
            except ValueError:
                storage_urls = {}
        for value in storage_urls.values() if isinstance(storage_urls, dict) else ():
            if any(marker in str(value) for marker in ("AccountKey=", "SharedAccessSignature=", "sig=")):
                mask_secret(value)

    def get_config(self) -> WorkspaceConfig:
        """The :class:`WorkspaceConfig` from the connection."""
        conn = self.connection
        storage_urls = self._field(conn, "storage_urls") or {}
        if isinstance(storage_urls, str):
            storage_urls = json.loads(storage_urls)
        missing = [
            n for n in ("subscription_id", "resource_group", "workspace_name") if not self._field(conn, n)
        ]
        if missing:
            raise ValueError(f"connection {conn.conn_id!r} lacks {', '.join(missing)} in its extras")
        return WorkspaceConfig(
            subscription_id=self._field(conn, "subscription_id"),
            resource_group=self._field(conn, "resource_group"),
            workspace_name=self._field(conn, "workspace_name"),
            management_url=conn.host or DEFAULT_MANAGEMENT_URL,
            api_version=self._field(conn, "api_version") or DEFAULT_API_VERSION,
            data_plane_url=self._field(conn, "data_plane_url"),
            storage_urls=dict(storage_urls),
            allow_insecure_http=_truthy(self._field(conn, "allow_insecure_http")),
            verbose_http=bool(_truthy(self._field(conn, "verbose_http"))),
        )

    def auth_type(self) -> str:
        """The credential kind: explicit ``auth_type`` extra, else inferred from the fields present."""
        conn = self.connection
        explicit = self._field(conn, "auth_type")
        if explicit:
            if explicit not in AUTH_TYPES:
                raise ValueError(f"auth_type must be one of {', '.join(AUTH_TYPES)}, not {explicit!r}")
            return explicit
        if self._field(conn, "token"):
            return "token"
        if conn.login and conn.password:
            return "service_principal"
        return "default"

    def _credential_args(self) -> dict[str, Any]:
        conn = self.connection
        return {
            "kind": self.auth_type(),
            "token": self._field(conn, "token")
            or (conn.password if self._field(conn, "auth_type") == "token" else None),
            "tenant_id": self._field(conn, "tenant_id"),
            "client_id": conn.login,
            "client_secret": conn.password,
            "mi_client_id": self._field(conn, "managed_identity_client_id"),
            "wi_tenant_id": self._field(conn, "workload_identity_tenant_id"),
            "authority": self._field(conn, "authority_host"),
        }

    def get_credential(self) -> Any:
        """A sync azure-core TokenCredential for the connection's auth type."""
        import azure.identity
        from airflow.providers.microsoft.azure.utils import get_sync_default_azure_credential

        from airflow_provider_mlendpoints.client.credentials import StaticTokenCredential

        return _build_credential(
            self._credential_args(), azure.identity, StaticTokenCredential, get_sync_default_azure_credential
        )

    def get_conn(self) -> MLEndpointsClient:
        """The (cached) sync client."""
        if self._client is None:
            from airflow_provider_mlendpoints.client import MLEndpointsClient

            self._client = MLEndpointsClient(self.get_config(), self.get_credential(), on_secret=mask_secret)
        return self._client

    @property
    def client(self) -> MLEndpointsClient:
        """Alias of :meth:`get_conn`."""
        return self.get_conn()

    def test_connection(self) -> tuple[bool, str]:
        """List batch endpoints of the workspace; never returns secrets."""
        from airflow_provider_mlendpoints.client.errors import MLEndpointsError

        try:
            endpoints = self.get_conn().batch_endpoints.list(limit=1)
        except MLEndpointsError as exc:
            return False, f"Azure ML endpoints connection failed: {exc}"
        except Exception as exc:  # credential errors from azure-identity
            return False, f"Azure ML endpoints connection failed: {type(exc).__name__}: {_safe(exc)}"
        return (
            True,
            f"Connection to workspace {self.get_config().workspace_name!r} works ({len(endpoints)} endpoint(s) seen).",
        )

    def close(self) -> None:
        """Close the client's HTTP sessions."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _safe(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:300]


class AsyncMLEndpointsHook(MLEndpointsHook):
    """Async hook (for triggers): ``await get_async_conn()`` returns an
    :class:`~airflow_provider_mlendpoints.client.AsyncMLEndpointsClient`."""

    def __init__(self, ml_endpoints_conn_id: str = MLEndpointsHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(ml_endpoints_conn_id, **kwargs)
        self._async_client: Any = None

    async def aload_connection(self) -> Any:
        """Fetch the connection without blocking the event loop."""
        if "connection" not in self.__dict__:
            conn = await self.aget_connection(self.ml_endpoints_conn_id)
            self._mask_connection(conn)
            self.__dict__["connection"] = conn
        return self.__dict__["connection"]

    def get_async_credential(self) -> Any:
        """An async azure-core TokenCredential for the connection's auth type."""
        import azure.identity.aio
        from airflow.providers.microsoft.azure.utils import get_async_default_azure_credential

        from airflow_provider_mlendpoints.client.credentials import AsyncStaticTokenCredential

        return _build_credential(
            self._credential_args(),
            azure.identity.aio,
            AsyncStaticTokenCredential,
            get_async_default_azure_credential,
        )

    async def get_async_conn(self) -> AsyncMLEndpointsClient:
        """The (cached) async client."""
        if self._async_client is None:
            await self.aload_connection()
            from airflow_provider_mlendpoints.client import AsyncMLEndpointsClient

            self._async_client = AsyncMLEndpointsClient(
                self.get_config(), self.get_async_credential(), on_secret=mask_in_this_process
            )
        return self._async_client

    async def aclose(self) -> None:
        """Close the async client's HTTP sessions and its credential."""
        if self._async_client is not None:
            client, self._async_client = self._async_client, None
            await client.close()
            close = getattr(client.credential, "close", None)
            if close is not None:
                await close()
