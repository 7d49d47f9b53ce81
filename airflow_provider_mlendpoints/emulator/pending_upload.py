"""``startPendingUpload`` of code and model versions: a temporary blob container with a SAS.

Like the service, each call answers a ``TemporaryBlobReference``: a fresh
container in the workspace's storage account, its URL (``blobUri``) and the
same URL with a container SAS allowing read, add, create, write and list for
one day (``credential.sasUri``). Clients (Microsoft's azure-ai-ml SDK) upload
the asset's files to that container and register the version with
``blobUri/...`` as its path; jobs and online deployments read it through the
emulator's storage connection string.

The URLs use the storage account's *public* blob endpoint:
``https://<AccountName>.blob.<EndpointSuffix>`` when the connection string
names an ``EndpointSuffix`` (the cloud's storage suffix, what the SDK
addresses datastores by), else its ``BlobEndpoint``. Without blob storage
(a local datastore) the answer points at the local folder and carries no SAS.
"""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any

from .context import parse_connection_string

if TYPE_CHECKING:
    from .context import Emulator

SAS_LIFETIME = datetime.timedelta(days=1)


def public_blob_endpoint(connection_string: str) -> str:
    """``https://<account>.blob.<EndpointSuffix>`` or the connection string's ``BlobEndpoint``."""
    parts = parse_connection_string(connection_string)
    account = parts.get("AccountName", "")
    suffix = parts.get("EndpointSuffix")
    if suffix:
        return f"https://{account}.blob.{suffix}"
    endpoint = parts.get("BlobEndpoint")
    if endpoint:
        return endpoint.rstrip("/")
    return f"{parts.get('DefaultEndpointsProtocol', 'https')}://{account}.blob.core.windows.net"


def temporary_blob_reference(connection_string: str) -> dict[str, str]:
    """Create a fresh container; ``{"blobUri": ..., "sasUri": ...}`` (the SAS is a secret)."""
    from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

    parts = parse_connection_string(connection_string)
    container = f"upload-{uuid.uuid4().hex}"
    with BlobServiceClient.from_connection_string(connection_string, retry_total=2) as service:
        service.create_container(container)
    sas = generate_container_sas(
        account_name=parts["AccountName"],
        container_name=container,
        account_key=parts["AccountKey"],
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True, list=True),
        expiry=datetime.datetime.now(datetime.timezone.utc) + SAS_LIFETIME,
    )
    blob_uri = f"{public_blob_endpoint(connection_string)}/{container}"
    return {"blobUri": blob_uri, "sasUri": f"{blob_uri}?{sas}"}


def pending_upload_answer(emu: Emulator, sub: str, rg: str, upload_id: str, local_uri: str) -> dict[str, Any]:
    """The ``PendingUploadResponseDto`` for one call (``local_uri``: where a local datastore keeps it)."""
    conn = emu.config.storage_connection_string
    if conn:
        reference = temporary_blob_reference(conn)
        account = parse_connection_string(conn).get("AccountName", emu.config.storage_account)
    else:
        reference = {"blobUri": local_uri, "sasUri": local_uri}
        account = emu.config.storage_account
    return {
        "blobReferenceForConsumption": {
            "blobUri": reference["blobUri"],
            "storageAccountArmId": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}",
            "credential": {"credentialType": "SAS", "sasUri": reference["sasUri"]},
        },
        "pendingUploadId": upload_id,
        "pendingUploadType": "TemporaryBlobReference",
    }
