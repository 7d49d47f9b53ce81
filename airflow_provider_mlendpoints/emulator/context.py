"""The running emulator: configuration, store, job and online-scoring managers, counters."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from .assets import ws_key_of
from .config import EmulatorConfig
from .ids import TYPE_PREFIX, new_id, system_data, utc_now_iso, workspace_id
from .store import Store

if TYPE_CHECKING:
    from starlette.requests import Request

    from .faults import FaultInjector
    from .openapi_validation import SpecValidator

DEFAULT_DATASTORE = "workspaceblobstore"
ARTIFACT_DATASTORE = "workspaceartifactstore"


def parse_connection_string(conn: str) -> dict[str, str]:
    """``Key=Value;...`` of a storage connection string."""
    parts = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
    return {k.strip(): v.strip() for k, v in parts.items()}


class Emulator:
    """Shared state behind every route (``request.app.state.emu``)."""

    def __init__(self, config: EmulatorConfig) -> None:
        from .batch_jobs import BatchJobManager
        from .faults import Counters, FaultInjector
        from .online_scoring import OnlineManager

        self.config = config
        self.store = Store(config.state_dir)
        self.counters = Counters()
        self.faults: FaultInjector = FaultInjector(config.faults)
        self.jobs = BatchJobManager(self)
        self.online = OnlineManager(self)
        self.validator: SpecValidator | None = None
        if config.spec_path is not None:
            from .openapi_validation import SpecValidator

            self.validator = SpecValidator.load(config.spec_path)

    @staticmethod
    def now() -> float:
        """Wall-clock seconds (persisted deadlines survive a restart)."""
        return time.time()

    def retry_after(self) -> int:
        """Seconds clients should wait between polls."""
        return max(1, int(round(self.config.provisioning_delay / 2))) if self.config.provisioning_delay > 0 else 1

    def workspace(self, sub: str, rg: str, ws: str) -> str:
        """The store key of the workspace, created (with its default datastore) on first use."""
        key = ws_key_of(sub, rg, ws)
        if self.store.get(key) is not None:
            return key
        with self.store.lock:
            if self.store.get(key) is not None:
                return key
            self.store.put(key, self._new_workspace(sub, rg, ws))
            self._create_default_datastore(sub, rg, ws)
        return key

    def _new_workspace(self, sub: str, rg: str, ws: str) -> dict[str, Any]:
        arm_id = workspace_id(sub, rg, ws)
        resource = {
            "id": arm_id,
            "name": ws,
            "type": TYPE_PREFIX,
            "location": self.config.location,
            "tags": {},
            "identity": {"type": "SystemAssigned", "principalId": new_id(), "tenantId": "00000000-0000-0000-0000-000000000000"},
            "sku": {"name": "Basic", "tier": "Basic"},
            "systemData": system_data(),
            "properties": {
                "friendlyName": ws,
                "workspaceId": new_id(),
                "provisioningState": "Succeeded",
                "storageAccount": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{self.config.storage_account}",
                "discoveryUrl": "http://127.0.0.1/discovery",
                "hbiWorkspace": False,
                "publicNetworkAccess": "Enabled",
                "creationTime": utc_now_iso(),
            },
        }
        return {"resource": resource, "meta": {"kind": "workspace", "ws": [sub, rg, ws], "ws_key": ws_key_of(sub, rg, ws)}}

    def _create_default_datastore(self, sub: str, rg: str, ws: str) -> None:
        """The workspace's datastores: ``workspaceblobstore`` (the default) and, as every Azure
        workspace has it, ``workspaceartifactstore`` (container ``azureml``, where the SDK looks
        for a job's logs when it downloads them)."""
        self._create_datastore(sub, rg, ws, DEFAULT_DATASTORE, self.config.storage_container, is_default=True)
        self._create_datastore(sub, rg, ws, ARTIFACT_DATASTORE, "azureml", is_default=False)

    def _create_datastore(self, sub: str, rg: str, ws: str, name: str, container: str, *, is_default: bool) -> None:
        arm_id = workspace_id(sub, rg, ws) + f"/datastores/{name}"
        meta: dict[str, Any] = {"kind": "datastore", "ws": [sub, rg, ws], "ws_key": ws_key_of(sub, rg, ws)}
        account = self.config.storage_account
        conn = self.config.storage_connection_string
        endpoint = "core.windows.net"
        if conn:
            parts = parse_connection_string(conn)
            endpoint = parts.get("EndpointSuffix") or endpoint
            account = parts.get("AccountName", account)
            meta["connection_string"] = conn
            if parts.get("BlobEndpoint"):
                meta["account_url"] = parts["BlobEndpoint"]
            meta["secrets"] = {"secretsType": "AccountKey", "key": parts.get("AccountKey", "")}
            ensure_container(conn, container)
        else:
            meta["local_root"] = f"{sub}/{rg}/{ws}/{name}"
            meta["secrets"] = {"secretsType": "AccountKey", "key": ""}
        resource = {
            "id": arm_id,
            "name": name,
            "type": f"{TYPE_PREFIX}/datastores",
            "systemData": system_data(),
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": account,
                "containerName": container,
                "endpoint": endpoint,
                "protocol": "https",
                "isDefault": is_default,
                "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey"}},
                "description": f"Workspace blob store {name} (emulator)",
                "serviceDataAccessAuthIdentity": "None",
                "tags": {},
                "properties": {},
            },
        }
        self.store.put(arm_id, {"resource": resource, "meta": meta})

    def on_deleted(self, record: dict[str, Any]) -> None:
        """Hook before a resource (and everything below it) leaves the store."""
        kind = record["meta"].get("kind")
        if kind in ("onlineEndpoint", "onlineDeployment"):
            self.online.stop_prefix(record["meta"]["key"])
        if kind == "job":
            self.jobs.cancel(record["meta"]["key"], reason="deleted")

    def reset(self) -> None:
        """Forget every resource and job (the admin reset); running processes stop."""
        self.online.stop_prefix("")
        self.jobs.stop_all()
        self.store.clear()

    def shutdown(self) -> None:
        """Stop child processes (on server exit); job records stay as they are."""
        self.online.stop_prefix("")
        self.jobs.stop_all(mark=False)


def emulator_of(request: Request) -> Emulator:
    """The emulator serving ``request`` (``request.app.state.emu``, set by :func:`.app.create_app`)."""
    emu: Emulator = request.app.state.emu
    return emu


def ensure_container(connection_string: str, container: str) -> None:
    """Create the default datastore's blob container if it is missing, as a workspace has one.

    Best effort: when the storage account cannot be reached, the workspace is
    still created and the first upload reports the storage error itself.
    """
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    try:
        with BlobServiceClient.from_connection_string(connection_string, retry_total=1) as service:
            service.create_container(container)
    except ResourceExistsError:
        pass
    except (AzureError, ValueError) as exc:  # never print the connection string: it holds the key
        print(
            f"mlendpoints emulator: could not create the datastore container {container!r}: {type(exc).__name__}",
            file=sys.stderr,
            flush=True,
        )
