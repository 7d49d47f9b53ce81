"""Blob storage credentials from an Airflow ``wasb`` connection, as engine ``storage_options``.

The Microsoft Azure provider's :class:`WasbHook` already knows every way a
``wasb`` connection can authenticate (connection string, account key as the
password or ``account_key`` extra, ``shared_access_key``, ``sas_token``,
service principal with ``tenant_id``, managed or workload identity, and
``DefaultAzureCredential``). We let it build its ``BlobServiceClient`` and hand
the engine the pieces: the account URL and the credential, as plain values
where they are plain (key, SAS) and as the credential object otherwise.

Every secret found is registered with Airflow's secrets masker, so it is
redacted from task logs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["storage_options_from_connection"]

_SECRET_KEYS = ("account_key", "sas_token", "connection_string")


def storage_options_from_connection(conn_id: str | None, *, public_read: bool = False) -> dict[str, Any]:
    """``storage_options`` for ``BlobStorage.from_uri`` from the Airflow ``wasb`` connection ``conn_id``.

    ``None`` or ``""`` gives ``{}``: the engine then uses the URI's own SAS or
    ``DefaultAzureCredential``. The options name the connection's account
    (``account_url``), which wins over the account in a blob URI's host.
    ``public_read`` asks for anonymous access, like ``WasbHook(public_read=True)``.
    """
    if not conn_id:
        return {}
    from airflow.providers.microsoft.azure.hooks.wasb import WasbHook

    client = WasbHook(wasb_conn_id=conn_id, public_read=public_read).get_conn()
    options = options_from_blob_client(client)
    _mask(options)
    return options


def options_from_blob_client(client: Any) -> dict[str, Any]:
    """The account URL and credential of an ``azure.storage.blob.BlobServiceClient`` as storage_options."""
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    url, _, query = client.url.partition("?")
    options: dict[str, Any] = {"account_url": url.rstrip("/")}
    credential = client.credential
    if credential is None:
        if query:
            options["sas_token"] = query
        else:
            options["anon"] = True
    elif isinstance(credential, AzureNamedKeyCredential):
        options["account_name"], options["account_key"] = credential.named_key
    elif isinstance(credential, AzureSasCredential):
        options["sas_token"] = credential.signature.lstrip("?")
    elif hasattr(credential, "account_key") and hasattr(credential, "account_name"):
        # The SDK's shared-key policy (connection strings, account keys).
        options["account_name"], options["account_key"] = credential.account_name, credential.account_key
    elif isinstance(credential, str):
        options["credential"] = credential
    else:  # a TokenCredential: service principal, managed/workload identity, DefaultAzureCredential
        options["credential"] = credential
    if query and "sas_token" not in options:
        options["sas_token"] = query
    return options


def _mask(options: dict[str, Any]) -> None:
    """Register the secret values with Airflow's secrets masker (task logs show ``***``)."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow 3.0 kept it here
        from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]
    for key in _SECRET_KEYS:
        if options.get(key):
            mask_secret(options[key])
    if isinstance(options.get("credential"), str):
        mask_secret(options["credential"])
