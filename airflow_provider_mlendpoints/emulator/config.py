"""Settings of one emulator process.

Everything has a default so ``EmulatorConfig()`` serves a usable workspace;
``from_args`` builds it from the ``mlendpoints emulator`` arguments plus
``MLENDPOINTS_EMULATOR_*`` environment variables for what the command line
does not carry (provisioning delay, faults, storage of the default datastore).
"""

from __future__ import annotations

import json
import os
import re
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

    Faults *before* processing (the request never reaches its route):
    ``drop_rate`` (connection aborted), ``throttle_rate`` (429 + Retry-After),
    ``error_rate`` (500). Faults *after* processing (the route ran and changed
    state, then the answer is lost): ``after_error_rate`` (the response is
    replaced by a 500) and ``after_drop_rate`` (the connection is aborted
    instead of answering). The after-faults are the dangerous case for
    non-idempotent calls: the client cannot tell whether anything happened.

    ``script`` forces faults regardless of the rates: a list of
    ``{"fault": "drop"|"429"|"500"|"after_500"|"after_drop", "match": regex,
    "method": "POST", "times": 1}``; the next ``times`` requests whose path
    matches (and method, if given) get that fault, in list order. Scripted
    faults ignore ``match`` above.
    """

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    after_error_rate: float = 0.0
    after_drop_rate: float = 0.0
    script: list[dict[str, Any]] = field(default_factory=list)
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
        settings._check_rates()
        _check_script(settings.script)
        for pattern in [settings.match, *(e.get("match") for e in settings.script)]:
            _check_regex(pattern)
        if not isinstance(settings.latency_ms, int) or settings.latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        return settings

    def _check_rates(self) -> None:
        """ValueError unless every rate is in [0, 1] and the fault rates sum to at most 1."""
        rates = ("throttle_rate", "error_rate", "drop_rate", "after_error_rate", "after_drop_rate")
        for name in (*rates, "latency_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be a number between 0 and 1")
        if sum(float(getattr(self, name)) for name in rates) > 1.0:
            raise ValueError("the fault rates must sum to at most 1")

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _check_script(script: Any) -> None:
    """ValueError unless ``script`` is a list of ``{fault, match, method, times}`` entries."""
    if not isinstance(script, list):
        raise ValueError("script must be a list")
    for entry in script:
        if not isinstance(entry, dict) or entry.get("fault") not in SCRIPTED_FAULTS:
            raise ValueError(f"script entries need a fault in {sorted(SCRIPTED_FAULTS)}: {entry!r}")
        if set(entry) - {"fault", "match", "method", "times"}:
            raise ValueError(f"script entry keys: fault, match, method, times; got {sorted(entry)}")
        if not isinstance(entry.get("times", 1), int) or entry.get("times", 1) < 1:
            raise ValueError("script entry 'times' must be a positive integer")


def _check_regex(pattern: Any) -> None:
    """ValueError naming ``pattern`` when it is not a regular expression (the settings are refused whole)."""
    if pattern is None:
        return
    if not isinstance(pattern, str):
        raise ValueError(f"match must be a regular expression (a string), not {pattern!r}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"match {pattern!r} is not a valid regular expression: {exc}") from exc


#: Fault names a ``FaultSettings.script`` entry may force.
SCRIPTED_FAULTS = frozenset({"drop", "429", "500", "after_500", "after_drop"})


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
    #: When set, batch jobs run no process: they stay Running for this many
    #: seconds, then end Completed with no output (for load tests of waiting
    #: clients; env ``MLENDPOINTS_EMULATOR_NOOP_JOB_SECONDS``).
    noop_job_seconds: float | None = None
    #: Whether jobs, code and models may name paths on the emulator's machine (``file://`` or plain
    #: paths); off by default, as any caller could otherwise read, write or run local files.
    allow_local_paths: bool = False

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
            allow_local_paths=bool(getattr(args, "allow_local_paths", False))
            or env.get("MLENDPOINTS_EMULATOR_ALLOW_LOCAL_PATHS", "").lower() in ("1", "true", "yes"),
        )
        delay = getattr(args, "provisioning_delay", None)  # 0 is a delay too: never `or` it away
        if delay is None:
            delay = env.get("MLENDPOINTS_EMULATOR_PROVISIONING_DELAY")
        if delay not in (None, ""):
            config.provisioning_delay = float(delay)
            if config.provisioning_delay < 0:
                raise ValueError(f"the provisioning delay must be 0 or more seconds, not {delay}")
        faults = getattr(args, "faults", None) or env.get("MLENDPOINTS_EMULATOR_FAULTS")
        if faults:
            config.faults = FaultSettings.from_dict(json.loads(faults))
        config.storage_connection_string = env.get("MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING") or None
        config.storage_account = env.get("MLENDPOINTS_EMULATOR_STORAGE_ACCOUNT", config.storage_account)
        config.storage_container = env.get("MLENDPOINTS_EMULATOR_STORAGE_CONTAINER", config.storage_container)
        noop = env.get("MLENDPOINTS_EMULATOR_NOOP_JOB_SECONDS")
        if noop not in (None, ""):
            config.noop_job_seconds = float(noop)
        seed = env.get("MLENDPOINTS_EMULATOR_TRAFFIC_SEED")
        if seed:
            config.traffic_seed = int(seed)
        return config
