"""Microsoft's azure-ai-ml SDK (MLClient) pointed at the emulator.

Set-up (all real, nothing mocked but name resolution):

- a throw-away CA and server certificate (:mod:`tests.fixtures.tls`): the SDK
  sends bearer tokens over HTTPS only, so the emulator serves TLS
  (``--ssl-certfile``) and Azurite too (``--cert/--key``);
- a custom cloud ``mlendpoints-emulator`` (``MLClient(cloud=..., cloud_metadata=...)``)
  whose resource manager is the emulator and whose storage suffix is
  ``core.mlendpoints.test:<azurite port>``: the SDK addresses the datastore as
  ``https://devstoreaccount1.blob.core.mlendpoints.test:<port>``;
- that name resolves to 127.0.0.1 inside the test process only (the
  equivalent of a hosts-file line; ``*.test`` is reserved and never resolves
  otherwise). The emulator reaches Azurite by its path-style IP address (its
  connection string's ``BlobEndpoint``) and names the public suffix to
  clients with ``EndpointSuffix``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.azurite import AzuriteService, _stop, start_azurite
from tests.fixtures.emulator import EmulatorHandle, start_emulator
from tests.fixtures.tls import TlsFiles, make_tls_files

pytest.importorskip("azure.ai.ml", reason="azure-ai-ml is a dev dependency (pip install -e '.[dev]')")

DOMAIN = "mlendpoints.test"
CLOUD = "mlendpoints-emulator"  # + the port: the SDK never replaces a cloud it knows


@contextlib.contextmanager
def resolve_to_loopback(domain: str) -> Iterator[None]:
    """Names ending in ``.<domain>`` resolve to 127.0.0.1 in this process (an in-process hosts line)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.lower().endswith("." + domain):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = real  # type: ignore[assignment]


@dataclass
class SdkWorld:
    """The emulator and Azurite over TLS, and how to build an MLClient for them."""

    emulator: EmulatorHandle
    azurite: AzuriteService
    tls: TlsFiles
    storage_suffix: str

    def ml_client(self) -> Any:
        from azure.ai.ml import MLClient
        from azure.core.credentials import AccessToken

        token = self.emulator.token

        class EmulatorToken:
            """A TokenCredential answering the emulator's bearer token for every scope."""

            def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
                import time

                return AccessToken(token, int(time.time()) + 3600)

        base = self.emulator.base_url + "/"
        metadata = {
            "azure_portal": base,
            "resource_manager": base,
            "active_directory": base,
            "aml_resource_id": "https://ml.azure.com/",
            "storage_endpoint": self.storage_suffix,
            "registry_discovery_endpoint": base,
        }
        return MLClient(
            EmulatorToken(),
            subscription_id=self.emulator.subscription,
            resource_group_name=self.emulator.resource_group,
            workspace_name=self.emulator.workspace,
            cloud=f"{CLOUD}-{self.emulator.base_url.rsplit(':', 1)[-1]}",
            cloud_metadata=metadata,
            enable_telemetry=False,
            show_progress=False,
        )


@contextlib.contextmanager
def sdk_world(spec: Path | None = None) -> Iterator[SdkWorld]:
    """Start Azurite and the emulator over TLS (with ``spec``: the emulator's --spec mode)."""
    folder = Path(tempfile.mkdtemp(prefix="mlendpoints-sdk-"))
    tls = make_tls_files(folder / "tls", dns_names=(f"*.blob.core.{DOMAIN}",))
    saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "AZUREML_CURRENT_CLOUD")}
    os.environ["REQUESTS_CA_BUNDLE"] = str(tls.ca)
    os.environ["SSL_CERT_FILE"] = str(tls.ca)
    proc, azurite = start_azurite(str(folder), cert=tls.cert, key=tls.key)
    suffix = f"core.{DOMAIN}:{azurite.port}"  # azure-storage finds the account before ".blob.core."
    conn = (
        f"DefaultEndpointsProtocol=https;AccountName={azurite.account_name};AccountKey={azurite.account_key};"
        f"BlobEndpoint={azurite.blob_endpoint};EndpointSuffix={suffix};"
    )
    env = {
        "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": conn,
        "REQUESTS_CA_BUNDLE": str(tls.ca),
        "SSL_CERT_FILE": str(tls.ca),
    }
    try:
        with (
            resolve_to_loopback(DOMAIN),
            start_emulator(spec=spec, env=env, log_dir=folder, tls=(tls.cert, tls.key, tls.ca)) as emulator,
        ):
            yield SdkWorld(emulator=emulator, azurite=azurite, tls=tls, storage_suffix=suffix)
    finally:
        _stop(proc)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)
