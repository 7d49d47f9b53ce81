"""Settings of one emulator process.

Everything has a default so ``EmulatorConfig()`` serves a usable workspace;
``from_args`` builds it from the ``mlendpoints emulator`` arguments plus
``MLENDPOINTS_EMULATOR_*`` environment variables for what the command line
does not carry (provisioning delay, faults, storage of the default datastore).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Bearer token accepted when none is given (documented; development use only).
DEV_TOKEN = "mlendpoints-dev-token"
#: The well-known Azurite development account key (public, not a secret).
AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass
class FaultSettings:
    """Injected faults: each rate is a probability per request in [0, 1].

    ``match`` is an optional regular expression a request path must contain
    (``re.search``) for faults to apply; admin routes never get faults.
    """

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    latency_ms: int = 0
    latency_rate: float = 1.0
    retry_after: int = 1
    match: str | None = None
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultSettings:
        """Build from a JSON object; unknown keys raise ValueError."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}; known: {sorted(known)}")
        settings = cls(**data)
        for name in ("throttle_rate", "error_rate", "drop_rate", "latency_rate"):
            value = getattr(settings, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be a number between 0 and 1")
        if not isinstance(settings.latency_ms, int) or settings.latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        return settings

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class EmulatorConfig:
    """How the emulator serves, stores and runs things."""

    host: str = "127.0.0.1"
    port: int = 8910
    token: str = DEV_TOKEN
    state_dir: Path | None = None
    spec_path: Path | None = None
    #: Seconds a PUT/PATCH/DELETE stays Creating/Updating/Deleting.
    provisioning_delay: float = 1.0
    location: str = "eastus"
    faults: FaultSettings = field(default_factory=FaultSettings)
    #: Blob storage behind the default datastore ``workspaceblobstore``; without
    #: a connection string the datastore maps to a local folder.
    storage_connection_string: str | None = field(default=None, repr=False)
    storage_account: str = "devstoreaccount1"
    storage_container: str = "azureml-blobstore"
    #: Seed of the online traffic split choice (None: random).
    traffic_seed: int | None = None
    #: Scoring processes per batch job (None: the deployment's concurrency).
    job_workers: int | None = None

    @property
    def data_root(self) -> Path:
        """Local folder for datastores without blob storage, job logs and online logs."""
        if self.state_dir is not None:
            return self.state_dir
        if not hasattr(self, "_tmp_root"):
            import tempfile

            self._tmp_root = Path(tempfile.mkdtemp(prefix="mlendpoints-emulator-"))
        return self._tmp_root

    @classmethod
    def from_args(cls, args: Any, environ: dict[str, str] | None = None) -> EmulatorConfig:
        """Build from CLI arguments (``host port token state spec``) and the environment."""
        env = dict(os.environ if environ is None else environ)
        config = cls(
            host=getattr(args, "host", None) or "127.0.0.1",
            port=int(getattr(args, "port", None) or 8910),
            token=getattr(args, "token", None) or env.get("MLENDPOINTS_EMULATOR_TOKEN") or DEV_TOKEN,
            state_dir=Path(args.state).resolve() if getattr(args, "state", None) else None,
            spec_path=Path(args.spec).resolve() if getattr(args, "spec", None) else None,
        )
        delay = getattr(args, "provisioning_delay", None) or env.get("MLENDPOINTS_EMULATOR_PROVISIONING_DELAY")
        if delay not in (None, ""):
            config.provisioning_delay = float(delay)
        faults = getattr(args, "faults", None) or env.get("MLENDPOINTS_EMULATOR_FAULTS")
        if faults:
            config.faults = FaultSettings.from_dict(json.loads(faults))
        config.storage_connection_string = env.get("MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING") or None
        config.storage_account = env.get("MLENDPOINTS_EMULATOR_STORAGE_ACCOUNT", config.storage_account)
        config.storage_container = env.get("MLENDPOINTS_EMULATOR_STORAGE_CONTAINER", config.storage_container)
        seed = env.get("MLENDPOINTS_EMULATOR_TRAFFIC_SEED")
        if seed:
            config.traffic_seed = int(seed)
        return config
