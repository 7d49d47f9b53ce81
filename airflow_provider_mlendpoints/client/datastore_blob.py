"""Blob access to a workspace datastore (azure-storage-blob), with endpoint overrides for Azurite.

The account URL comes from ``WorkspaceConfig.storage_urls[account]`` when set
(an account URL, or a connection string with ``AccountKey=``/``BlobEndpoint=``),
else from the datastore (``{protocol}://{account}.blob.{endpoint}``).
Credentials: the datastore's secrets (``listSecrets``: account key or SAS) for
key/SAS datastores, else the client's AAD credential (identity-based access).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from azure.storage.blob import ContainerClient

from .errors import NotFoundError, ValidationError
from .resources import Datastore

if TYPE_CHECKING:
    from ._facade import MLEndpointsClient

_DATASTORE_URI = re.compile(
    r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/(?:providers/Microsoft\.MachineLearningServices/)?"
    r"workspaces/[^/]+/)?datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$"
)


def parse_datastore_uri(uri: str) -> tuple[str, str]:
    """``azureml://[.../]datastores/<ds>/paths/<path>`` -> (datastore, path)."""
    match = _DATASTORE_URI.match(uri)
    if not match:
        raise ValidationError(f"not an azureml datastore URI: {uri!r}")
    return match.group("ds"), unquote(match.group("path"))


def datastore_uri(config: Any, datastore: str, path: str) -> str:
    """The long-form ``azureml://subscriptions/.../datastores/<ds>/paths/<path>`` URI."""
    return (
        f"azureml://subscriptions/{config.subscription_id}/resourcegroups/{config.resource_group}"
        f"/workspaces/{config.workspace_name}/datastores/{datastore}/paths/{path}"
    )


def datastore_name_from_id(datastore_id: str) -> str:
    """The datastore name from an ARM id or an ``azureml:`` reference."""
    return datastore_id.rstrip("/").rsplit("/", 1)[-1].removeprefix("azureml:")


def container_client(client: MLEndpointsClient, datastore: Datastore) -> ContainerClient:
    """A ContainerClient for a blob datastore (sync :class:`MLEndpointsClient` required)."""
    if datastore.datastore_type not in (None, "AzureBlob"):
        raise ValidationError(f"datastore {datastore.name!r} is {datastore.datastore_type}, not AzureBlob")
    account = datastore.account_name
    container = datastore.container_name
    if not account or not container:
        raise ValidationError(f"datastore {datastore.name!r} has no accountName/containerName")
    override = client.config.storage_urls.get(account)
    if override and (
        "AccountKey=" in override or "SharedAccessSignature=" in override or "BlobEndpoint=" in override
    ):
        return ContainerClient.from_connection_string(override, container)
    account_url = override or datastore.account_url or ""  # account_url is set: account is
    credential: Any  # what ContainerClient accepts: a key mapping, a SAS string or a TokenCredential
    if (datastore.credentials_type or "None") in ("AccountKey", "Sas"):
        secrets = client.datastores.list_secrets(str(datastore.name))
        if secrets.account_key:
            credential = {"account_name": account, "account_key": secrets.account_key}
        elif secrets.sas_token:
            credential = secrets.sas_token
        else:
            raise ValidationError(f"datastore {datastore.name!r} returned no usable secret")
    else:
        credential = client.credential
    return ContainerClient(account_url, container, credential=credential)


def blob_url_to_datastore(client: MLEndpointsClient, url: str) -> tuple[Datastore, str]:
    """Map an https blob URL to (datastore, path) by matching account and container."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    for store in client.datastores.list():
        if not store.container_name or not store.account_name:
            continue
        host_match = (parsed.hostname or "").startswith(store.account_name + ".")
        if host_match and parts and parts[0] == store.container_name:
            return store, "/".join(parts[1:])
        if len(parts) > 1 and parts[0] == store.account_name and parts[1] == store.container_name:
            return store, "/".join(parts[2:])  # path-style (Azurite)
    raise NotFoundError(
        f"no workspace datastore holds {parsed.scheme}://{parsed.netloc}{parsed.path}", status=404
    )


def datastore_location(client: MLEndpointsClient, location: str, what: str) -> tuple[Datastore, str]:
    """(datastore, path) of ``location``: an ``azureml://...datastores/<ds>/paths/<p>`` URI or an
    https blob URL of a datastore's container; :class:`~.errors.ValidationError` naming ``what``
    (e.g. ``asset location``) for anything else."""
    if location.startswith("azureml://"):
        name, path = parse_datastore_uri(location)
        return client.datastores.get(name), path
    if location.startswith(("https://", "http://")):
        return blob_url_to_datastore(client, location)
    raise ValidationError(f"unsupported {what} {location!r}")
