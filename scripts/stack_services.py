"""A whole Airflow deployment on this machine, without Docker: ``scripts/stack up|down|status|env``.

Services, all on 127.0.0.1, each in its own session (process group) with a pid
file and a log under the state folder (default ``.stack/`` in the repository):

- ``postgres``: a private PostgreSQL cluster (``initdb`` into ``<state>/pg``,
  run as the ``postgres`` user when we are root; Debian's ``postgresql``
  package is installed with apt-get when its binaries are missing);
- ``redis`` (``--executor celery`` only; Debian's ``redis-server``);
- ``azurite``: the Azure Blob Storage emulator (npm ``azurite``);
- ``emulator``: the Azure ML workspace emulator (``mlendpoints emulator``),
  its default datastore on Azurite;
- Airflow: ``api-server``, ``scheduler``, ``dag-processor``, ``triggerer``
  (scheduler and triggerer without log servers), LocalExecutor with a
  configurable parallelism, or CeleryExecutor with Redis and N Celery worker
  processes (``celery-worker-1``, ...), the shape users deploy over machines.

The Airflow connections ``azure_ml_endpoints_default`` (the emulator) and
``wasb_default`` (Azurite) are set as ``AIRFLOW_CONN_*`` environment variables
of every Airflow process, as docker-compose.yaml does.

``up`` is idempotent: running services are left alone (Airflow services are
restarted only when the executor, parallelism or DAG folders change);
``down`` stops each service's process group by its pid; ``status`` prints each
service, pid, port and health. ``env`` prints the environment (as ``export``
lines) to run the ``airflow`` CLI against the stack.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from airflow_stack import AirflowStack, airflow_bin, free_port  # noqa: E402
from demo import default_demo_dir, prepare_sample_data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STATE_DIR = REPO / ".stack"

#: Azurite's well-known development account (public, documented; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

#: The workspace the ``azure_ml_endpoints_default`` connection points at (any name works on the emulator).
EMULATOR_WORKSPACE = {
    "subscription_id": "00000000-0000-0000-0000-000000000000",
    "resource_group": "rg-stack",
    "workspace_name": "ws-stack",
}
ML_CONN_ID = "azure_ml_endpoints_default"
#: The emulator's default datastore ``workspaceblobstore`` is this Azurite container.
EMULATOR_CONTAINER = "azureml-blobstore"
WASB_CONN_ID = "wasb_default"

AIRFLOW_SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
PG_USER = "airflow"
PG_DB = "airflow"

#: What the Python environment needs for each executor (pip requirements; installed when missing).
#: celery 5.7 removed ``celery.backends.database.retry``, which the Celery provider still imports.
PY_REQUIREMENTS = {
    "local": ["psycopg2-binary>=2.9", "asyncpg>=0.29"],
    "celery": [
        "psycopg2-binary>=2.9",
        "asyncpg>=0.29",
        "apache-airflow-providers-celery>=3.8",
        "celery>=5.5,<5.7",
        "redis>=5",
    ],
}


def log(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- installing what is missing
def _apt_install(*packages: str) -> None:
    """``apt-get install -y`` (after one ``apt-get update``), as root; a clear error otherwise."""
    if os.geteuid() != 0:
        raise RuntimeError(f"missing {' '.join(packages)}: install them (apt-get install {' '.join(packages)})")
    log(f"installing Debian packages: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def postgres_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<v>/bin`` (installing Debian's postgresql when there is none)."""

    def find() -> Path | None:
        dirs = sorted(
            (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if (Path(p) / "postgres").exists()),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        )
        if dirs:
            return dirs[-1]
        on_path = shutil.which("postgres")
        return Path(on_path).resolve().parent if on_path and shutil.which("initdb") else None

    found = find()
    if found is None:
        _apt_install("postgresql")
        found = find()
    if found is None:
        raise RuntimeError("PostgreSQL server binaries not found after installing the postgresql package")
    return found


def redis_server_bin() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if found is None:
        _apt_install("redis-server")
        found = shutil.which("redis-server") or "/usr/bin/redis-server"
    return found


def azurite_bin() -> str:
    """azurite-blob from the repository's .tools (``make azurite``), PATH, or installed with npm."""
    local = REPO / ".tools" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    on_path = shutil.which("azurite-blob")
    if on_path:
        return on_path
    npm = shutil.which("npm")
    if npm is None:
        _apt_install("npm")
        npm = shutil.which("npm") or "npm"
    log("installing azurite with npm into .tools/")
    subprocess.run(
        [npm, "install", "--prefix", str(REPO / ".tools"), "--no-audit", "--no-fund", "--loglevel=error", "azurite@3"],
        check=True,
    )
    return str(local)


def ensure_python_packages(executor: str) -> None:
    """pip-install into this interpreter's environment what the executor needs and is missing."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    missing = []
    for line in PY_REQUIREMENTS[executor]:
        requirement = Requirement(line)
        names = [requirement.name] + (["psycopg2"] if requirement.name == "psycopg2-binary" else [])
        installed = None
        for name in names:
            with contextlib.suppress(PackageNotFoundError):
                installed = installed or version(name)
        if installed is None or not requirement.specifier.contains(installed, prereleases=True):
            missing.append(line)
    if missing:
        log(f"installing Python packages: {' '.join(missing)}")
        # keep Airflow where it is: a provider must not up- or downgrade it
        pinned = [f"apache-airflow=={version('apache-airflow')}"]
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing, *pinned], check=True)


# ----------------------------------------------------------------------------- processes
def _pid_alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` runs and its command line mentions ``marker`` (guards against pid reuse)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if Path(f"/proc/{pid}/stat").exists():
        with contextlib.suppress(OSError, IndexError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    return marker in cmdline


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a group of zombies only is gone for our purposes
    return any(_in_group_and_running(p, pid) for p in _pids())


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _in_group_and_running(pid: int, pgid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] != "Z" and int(fields[2]) == pgid


def stop_group(pid: int, first: int = signal.SIGTERM, grace: float = 20.0) -> None:
    """Signal the process group ``pid`` leads, wait up to ``grace`` seconds, then SIGKILL it."""
    _signal_group(pid, first)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str, any_status: bool = False) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status < 400 or any_status
    except urllib.error.HTTPError:
        return any_status
    except (OSError, urllib.error.URLError, ValueError):
        return False


#: how often the infrastructure services are started before ``up`` gives up
START_ATTEMPTS = 3


class ServiceExited(RuntimeError):
    """A service process quit before it became healthy."""


@dataclass
class Service:
    """One long-running process of the stack."""

    name: str
    port: int | None
    command: list[str]
    marker: str
    health: Callable[[], bool]
    env: dict[str, str] | None = None
    user: str | None = None
    stop_signal: int = signal.SIGTERM
    cwd: str | None = None


# ----------------------------------------------------------------------------- the stack
class Stack:
    """The services of one state folder; ports, token and settings persist in ``<state>/state.json``."""

    def __init__(self, state_dir: str | os.PathLike[str] | None = None) -> None:
        self.state_dir = Path(state_dir or os.environ.get("MLENDPOINTS_STACK_DIR") or DEFAULT_STATE_DIR).resolve()
        self.run_dir = self.state_dir / "run"
        self.airflow_run_dir = self.state_dir / "airflow" / "run"  # AirflowStack's pid files
        self.state_file = self.state_dir / "state.json"
        self.state: dict[str, Any] = self._load_state()

    # -- state ------------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True))
        tmp.replace(self.state_file)

    def _prepare(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # postgres (another user when we are root) must reach <state>/pg
        self.state_dir.chmod(0o755)
        self.run_dir.mkdir(exist_ok=True)
        gitignore = self.state_dir / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# scripts/stack state: nothing here belongs in git\n*\n")
        ports = self.state.setdefault("ports", {})
        for name in ("postgres", "redis", "azurite", "emulator", "api-server"):
            while not ports.get(name) or list(ports.values()).count(ports[name]) > 1:
                ports[name] = free_port()
        self.state.setdefault("token", secrets.token_urlsafe(18))
        if not self.state.get("fernet_key"):
            from cryptography.fernet import Fernet

            self.state["fernet_key"] = Fernet.generate_key().decode()
        if self.state.get("demo_dir") in (None, str(DEFAULT_STATE_DIR / "demo")):
            # the default stack shares make demo's folder; a private state folder keeps its own
            private = self.state_dir != DEFAULT_STATE_DIR and not os.environ.get("MLENDPOINTS_DEMO_DIR")
            self.state["demo_dir"] = str(self.state_dir / "demo" if private else default_demo_dir())
        self._save_state()

    @property
    def ports(self) -> dict[str, int]:
        return self.state.get("ports", {})

    # -- URLs and connections ---------------------------------------------------------------------
    @property
    def db_url(self) -> str:
        return f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{self.ports['postgres']}/{PG_DB}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api-server']}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['emulator']}"

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['azurite']}/{AZURITE_ACCOUNT}"

    @property
    def storage_connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def connections(self) -> dict[str, dict[str, Any]]:
        """The Airflow connections of the stack (conn id -> JSON connection)."""
        return {
            ML_CONN_ID: {
                "conn_type": "azure_ml_endpoints",
                "host": self.emulator_url,
                "extra": {
                    **EMULATOR_WORKSPACE,
                    "auth_type": "token",
                    "token": self.state["token"],
                    "data_plane_url": self.emulator_url,
                    "storage_urls": {AZURITE_ACCOUNT: self.storage_connection_string},
                    "allow_insecure_http": True,
                },
            },
            WASB_CONN_ID: {
                "conn_type": "wasb",
                "login": AZURITE_ACCOUNT,
                "extra": {"connection_string": self.storage_connection_string},
            },
        }

    def airflow_env(self) -> dict[str, str]:
        """Environment of every Airflow process (and of ``airflow`` CLI calls against the stack)."""
        stack = self.airflow()
        env = stack.env()
        return env

    # -- services ---------------------------------------------------------------------------------
    def _infra_services(self, executor: str) -> list[Service]:
        services = [self._postgres_service()]
        if executor == "celery":
            services.append(self._redis_service())
        services += [self._azurite_service(), self._emulator_service()]
        return services

    def _postgres_service(self) -> Service:
        port = self.ports["postgres"]
        bin_dir = Path(self.state.get("pg_bin") or "/nonexistent")
        command = [
            str(bin_dir / "postgres"), "-D", str(self.state_dir / "pg" / "data"), "-p", str(port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "max_connections=200", "-c", "shared_buffers=128MB",
            # a disposable development database: durability traded for speed
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]  # fmt: skip

        def healthy() -> bool:
            try:
                import psycopg2

                with contextlib.closing(
                    psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres", connect_timeout=2)
                ) as conn, conn.cursor() as cur:
                    cur.execute("select 1")
                    return True
            except Exception:
                return False

        return Service(
            "postgres", port, command, "postgres", healthy,
            user=self._pg_user(), stop_signal=signal.SIGINT, cwd=str(self.state_dir / "pg"),
        )  # fmt: skip

    def _redis_service(self) -> Service:
        port = self.ports["redis"]
        (self.state_dir / "redis").mkdir(exist_ok=True)
        command = [
            self.state.get("redis_bin") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--daemonize", "no", "--save", "", "--appendonly", "no", "--dir", str(self.state_dir / "redis"),
        ]  # fmt: skip

        def healthy() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        return Service("redis", port, command, "redis-server", healthy)

    def _azurite_service(self) -> Service:
        port = self.ports["azurite"]
        location = self.state_dir / "azurite"
        command = [
            self.state.get("azurite_bin") or "azurite-blob", "--blobHost", "127.0.0.1", "--blobPort", str(port),
            "--location", str(location), "--silent", "--skipApiVersionCheck", "--disableTelemetry",
        ]  # fmt: skip
        return Service(
            "azurite", port, command, "azurite", lambda: _http_ok(f"{self.blob_endpoint}?comp=list", any_status=True)
        )

    def _emulator_service(self) -> Service:
        port = self.ports["emulator"]
        script = Path(sys.executable).with_name("mlendpoints")
        base = [str(script)] if script.exists() else [sys.executable, "-m", "airflow_provider_mlendpoints.cli"]
        command = [
            *base, "emulator", "--host", "127.0.0.1", "--port", str(port), f"--token={self.state['token']}",
            "--state", str(self.state_dir / "emulator"),
        ]  # fmt: skip
        env = _clean_env()
        env["MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING"] = self.storage_connection_string
        env["MLENDPOINTS_EMULATOR_STORAGE_CONTAINER"] = EMULATOR_CONTAINER
        env.setdefault("MLENDPOINTS_EMULATOR_PROVISIONING_DELAY", "0.5")
        return Service(
            "emulator", port, command, "emulator", lambda: _http_ok(f"{self.emulator_url}/_emulator/health"), env=env
        )

    def _pg_user(self) -> str | None:
        """The user PostgreSQL runs as: ``postgres`` (created if missing) when we are root."""
        if os.geteuid() != 0:
            return None
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/false", "postgres"], check=True)
        return "postgres"

    def airflow(self) -> AirflowStack:
        """The Airflow part, from the saved settings."""
        executor = self.state.get("executor", "local")
        workers = int(self.state.get("workers", 2))
        parallelism = int(self.state.get("parallelism", 4))
        services = AIRFLOW_SERVICES + (
            tuple(f"celery-worker-{i}" for i in range(1, workers + 1)) if executor == "celery" else ()
        )
        extra_env = {
            "AIRFLOW__CORE__FERNET_KEY": self.state["fernet_key"],
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.state_dir / "airflow" / "logs"),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "MLENDPOINTS_DEMO_DIR": self.state["demo_dir"],
            # as docker-compose.yaml: nothing runs until a DAG is unpaused or triggered
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        }
        for conn_id, conn in self.connections().items():
            extra_env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        extra_env.update(self.state.get("env") or {})
        extra_dags = [str(Path(p).resolve()) for p in self.state.get("extra_dags", [])]
        if extra_dags:
            bundles = [{"name": "dags-folder", "classpath": _LOCAL_BUNDLE, "kwargs": {}}]
            bundles += [
                {"name": f"stack-extra-{i}", "classpath": _LOCAL_BUNDLE, "kwargs": {"path": path}}
                for i, path in enumerate(extra_dags, 1)
            ]
            extra_env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
        if executor == "celery":
            concurrency = int(self.state.get("worker_concurrency") or max(1, parallelism // workers))
            extra_env.update(
                {
                    "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
                    "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.db_url,
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
                    "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                }
            )
        return AirflowStack(
            home=self.state_dir / "airflow",
            dags_folder=Path(self.state.get("dags_folder") or REPO / "dags"),
            parallelism=parallelism,
            executor="CeleryExecutor" if executor == "celery" else "LocalExecutor",
            db_url=self.db_url,
            port=self.ports["api-server"],
            services=services,
            extra_env=extra_env,
            service_env=self._worker_env,
            base_env=_clean_env(),
        )

    def _worker_env(self, service: str) -> dict[str, str]:
        """Each Celery worker reports its own host name, as workers on separate machines do."""
        if not service.startswith("celery-worker-"):
            return {}
        hostdir = self.state_dir / "pythonpath"
        hostdir.mkdir(exist_ok=True)
        (hostdir / "stack_worker_hostname.py").write_text(_HOSTNAME_MODULE)
        name = service.replace("celery-worker-", "worker")
        return {
            "MLENDPOINTS_STACK_HOSTNAME": f"{socket.gethostname()}-{name}",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "stack_worker_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(p for p in (str(hostdir), os.environ.get("PYTHONPATH", "")) if p),
        }

    def all_services(self) -> list[Service]:
        return self._infra_services(self.state.get("executor", "local"))

    # -- lifecycle --------------------------------------------------------------------------------
    def _pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        try:
            return int(self._pid_file(name).read_text())
        except (OSError, ValueError):
            return None

    def _running(self, service: Service) -> bool:
        pid = self.pid(service.name)
        return pid is not None and _pid_alive(pid, service.marker)

    def _start(self, service: Service) -> None:
        log_path = self.run_dir / f"{service.name}.log"
        kwargs: dict[str, Any] = {}
        if service.user:
            kwargs.update(user=service.user, group=service.user, extra_groups=[])
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(
                service.command,
                env=service.env or _clean_env(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=service.cwd or str(self.state_dir),
                **kwargs,
            )
        self._pid_file(service.name).write_text(str(proc.pid))

    def _wait(self, service: Service, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if service.health():
                return
            if not self._running(service):
                log_path = self.run_dir / (service.name + ".log")
                raise ServiceExited(f"{service.name} exited; see {log_path}:\n{_tail(log_path) or '(no output)'}")
            time.sleep(0.3)
        raise TimeoutError(f"{service.name} not healthy after {timeout:.0f}s; see {self.run_dir}/{service.name}.log")

    def _init_postgres(self) -> None:
        pg_dir = self.state_dir / "pg"
        data = pg_dir / "data"
        user = self._pg_user()
        pg_dir.mkdir(exist_ok=True)
        if user:
            shutil.chown(pg_dir, user, user)
        if (data / "PG_VERSION").exists():
            return
        log(f"initdb {data}")
        kwargs: dict[str, Any] = {"user": user, "group": user, "extra_groups": []} if user else {}
        subprocess.run(
            [str(Path(self.state["pg_bin"]) / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=str(pg_dir), **kwargs,
        )  # fmt: skip

    def _create_database(self) -> None:
        import psycopg2

        with contextlib.closing(
            psycopg2.connect(host="127.0.0.1", port=self.ports["postgres"], user=PG_USER, dbname="postgres")
        ) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (PG_DB,))
                if cur.fetchone() is None:
                    cur.execute(f'create database "{PG_DB}"')

    def _create_datastore_container(self) -> None:
        """The emulator's default datastore container on Azurite (the emulator does not create it)."""
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        with (
            BlobServiceClient.from_connection_string(self.storage_connection_string) as service,
            contextlib.suppress(ResourceExistsError),
        ):
            service.create_container(EMULATOR_CONTAINER)

    def _prepare_example_data(self) -> None:
        """The sample model and today's inputs in the demo folder, so the examples' first runs succeed."""
        demo_dir = Path(self.state["demo_dir"])
        ds = time.strftime("%Y-%m-%d", time.gmtime())
        if prepare_sample_data(demo_dir, ds, quiet=True) == 0:
            log(f"sample model and inputs for {ds} ready in {demo_dir}")
        else:
            log("could not build the sample model (scikit-learn is in the demo extra): the examples will fail")

    def up(
        self,
        executor: str | None = None,
        parallelism: int | None = None,
        workers: int | None = None,
        worker_concurrency: int | None = None,
        extra_dags: list[str] | None = None,
        dags_folder: str | None = None,
        env: dict[str, str] | None = None,
        api_port: int | None = None,
        timeout: float = 240.0,
    ) -> None:
        """Start whatever is not running and wait until every service is healthy."""
        self._prepare()
        settings = {
            "executor": executor, "parallelism": parallelism, "workers": workers,
            "worker_concurrency": worker_concurrency, "extra_dags": extra_dags, "dags_folder": dags_folder,
            "env": env,
        }  # fmt: skip
        changed = self._apply_settings(settings, api_port)
        executor = self.state["executor"]
        self._locate_tools(executor)
        if changed and any(self.airflow_run_dir.glob("*.pid")):
            log("Airflow settings changed: restarting the Airflow services")
            self._stop_airflow()
        self._start_infrastructure(executor)
        airflow = self.airflow()
        self._start_airflow(airflow, timeout)
        self._wait_celery_workers(airflow)
        log(f"up: Airflow {airflow.base_url} ({self.state['executor']} executor, parallelism "
            f"{self.state['parallelism']}); state in {self.state_dir}")

    def _apply_settings(self, settings: dict[str, Any], api_port: int | None) -> bool:
        """Record the settings given (None: keep the previous one); whether an Airflow setting changed."""
        before = {k: self.state.get(k) for k in _AIRFLOW_SETTINGS}
        before_api_port = self.ports["api-server"]
        for key, value in settings.items():
            if value is not None:
                self.state[key] = value
        self.state.setdefault("executor", "local")
        self.state.setdefault("parallelism", 4)
        self.state.setdefault("workers", 2)
        if api_port:
            self.state["ports"]["api-server"] = api_port
        executor = self.state["executor"]
        if executor not in ("local", "celery"):
            raise ValueError(f"executor must be local or celery, not {executor!r}")
        changed = any(before[k] != self.state.get(k) for k in _AIRFLOW_SETTINGS)
        return changed or before_api_port != self.ports["api-server"]

    def _locate_tools(self, executor: str) -> None:
        """Install the executor's Python packages; record where PostgreSQL, Redis and Azurite are."""
        ensure_python_packages(executor)
        self.state["pg_bin"] = str(postgres_bin_dir())
        if executor == "celery":
            self.state["redis_bin"] = redis_server_bin()
        self.state["azurite_bin"] = azurite_bin()
        self._save_state()

    def _start_infrastructure(self, executor: str) -> None:
        """PostgreSQL, Azurite, the emulator (and Redis): started, healthy, with their database, container, data."""
        self._init_postgres()
        for attempt in range(1, START_ATTEMPTS + 1):
            services = self._infra_services(executor)
            for service in services:
                if not self._running(service):
                    log(f"starting {service.name} on port {service.port}")
                    self._start(service)
            exited: list[tuple[Service, ServiceExited]] = []
            for service in services:
                try:
                    self._wait(service)
                except ServiceExited as exc:
                    exited.append((service, exc))
            if not exited:
                break
            if attempt == START_ATTEMPTS:
                raise exited[0][1]
            self._retry_on_new_ports(exited)
        self._create_database()
        self._create_datastore_container()
        self._prepare_example_data()

    def _retry_on_new_ports(self, exited: list[tuple[Service, ServiceExited]]) -> None:
        """Services that quit at start get another try, on a fresh port unless Airflow already uses the old one.

        A port chosen free can be taken by another process before the service binds it; the service then
        quits at once, sometimes before it has written a line.
        """
        airflow = self.airflow()
        airflow_up = any(airflow.running(name) for name in airflow.services)
        for service, exc in exited:
            pid = self.pid(service.name)
            if pid:
                stop_group(pid, grace=2.0)
            if service.port is not None and not airflow_up:
                ports = self.state["ports"]
                while ports[service.name] == service.port or list(ports.values()).count(ports[service.name]) > 1:
                    ports[service.name] = free_port()
            log(f"{exc}\nstarting {service.name} again, on port {self.ports[service.name]}")
        self._save_state()

    def _start_airflow(self, airflow: AirflowStack, timeout: float) -> None:
        """Start the Airflow services that are not running (those of another executor stop); wait until healthy."""
        # services of another executor (e.g. celery workers after switching to local) go away
        for pid_file in sorted(self.airflow_run_dir.glob("celery-worker-*.pid")):
            if pid_file.stem not in airflow.services:
                _stop_pid_file(pid_file)
        if all(airflow.running(s) for s in airflow.services):
            airflow.wait_healthy(timeout)
            return
        log("starting Airflow (" + ", ".join(s for s in airflow.services if not airflow.running(s)) + ")")
        for name in airflow.services:
            # a fresh log per start: the readiness check of Celery workers reads it
            if name.startswith("celery-worker-") and not airflow.running(name):
                log_file = airflow._log_file(name)
                if log_file.exists():
                    log_file.replace(log_file.with_suffix(".log.1"))
        airflow.start(timeout)

    def _wait_celery_workers(self, airflow: AirflowStack, timeout: float = 120.0) -> None:
        """Wait until each Celery worker has connected to the broker (its log says ``ready.``)."""
        deadline = time.monotonic() + timeout
        for name in (s for s in airflow.services if s.startswith("celery-worker-")):
            while " ready." not in _tail(airflow._log_file(name), 1_000_000):
                if not airflow.running(name):
                    raise RuntimeError(f"{name} exited; see {airflow._log_file(name)}:\n{_tail(airflow._log_file(name))}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after {timeout:.0f}s; see {airflow._log_file(name)}")
                time.sleep(0.5)

    def _stop_airflow(self) -> None:
        _stop_pid_files(
            [
                pid_file
                for pid_file in sorted(self.airflow_run_dir.glob("*.pid"))
                if pid_file.stem in AIRFLOW_SERVICES or pid_file.stem.startswith("celery-worker-")
            ]
        )

    def down(self) -> None:
        """Stop every service by its pid (process group): Airflow first, then the infrastructure."""
        if not self.run_dir.exists():
            return
        self._stop_airflow()
        _stop_pid_files([self._pid_file(name) for name in ("emulator", "azurite", "redis")])
        _stop_pid_files([self._pid_file("postgres")], signal.SIGINT)  # fast shutdown
        log("down")

    def status(self) -> list[dict[str, Any]]:
        """Each service: name, pid, port, running, healthy."""
        rows = []
        if not self.state:
            return rows
        infra = {s.name: s for s in self._infra_services(self.state.get("executor", "local"))}
        if "redis" not in infra and self._pid_file("redis").exists():
            infra["redis"] = self._redis_service()
        for name, service in infra.items():
            running = self._running(service)
            rows.append({"service": name, "pid": self.pid(name), "port": service.port, "running": running,
                         "healthy": running and service.health()})  # fmt: skip
        airflow = self.airflow()
        try:
            health = airflow.health()
        except Exception:
            health = {}
        for name in airflow.services:
            running = airflow.running(name)
            key = {"api-server": "metadatabase", "dag-processor": "dag_processor"}.get(name, name)
            if name.startswith("celery-worker-"):
                healthy = running and "ready." in _tail(airflow._log_file(name), 200_000)
            else:
                healthy = running and (health.get(key) or {}).get("status") == "healthy"
            rows.append({"service": name, "pid": airflow.pid(name), "port": self.ports["api-server"]
                         if name == "api-server" else None, "running": running, "healthy": bool(healthy)})  # fmt: skip
        return rows


_AIRFLOW_SETTINGS = ("executor", "parallelism", "workers", "worker_concurrency", "extra_dags", "dags_folder", "env")
_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
_HOSTNAME_MODULE = '''"""Written by scripts/stack: the host name a Celery worker of the stack reports."""
import os
import socket


def hostname():
    return os.environ.get("MLENDPOINTS_STACK_HOSTNAME") or socket.getfqdn()
'''


def _stop_pid_file(pid_file: Path, first: int = signal.SIGTERM) -> None:
    _stop_pid_files([pid_file], first)


def _stop_pid_files(pid_files: list[Path], first: int = signal.SIGTERM, grace: float = 20.0) -> None:
    """Signal each pid file's process group, wait for all of them, SIGKILL what is left."""
    pids = []
    for pid_file in pid_files:
        with contextlib.suppress(OSError, ValueError):
            pids.append(int(pid_file.read_text()))
    for pid in pids:
        _signal_group(pid, first)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        _signal_group(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    for pid_file in pid_files:
        pid_file.unlink(missing_ok=True)


def _clean_env() -> dict[str, str]:
    """This process's environment without Airflow settings or connections (the stack sets its own)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("AIRFLOW__") or k.startswith("AIRFLOW_CONN_") or k.startswith("AIRFLOW_VAR_"))
        and k not in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
    }


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


# ----------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stack", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", default=None, help="state folder (default: $MLENDPOINTS_STACK_DIR or .stack/)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start what is not running and wait until healthy")
    up.add_argument("--executor", choices=["local", "celery"], default=None, help="default: local (or as before)")
    up.add_argument("--parallelism", type=int, default=None, help="[core] parallelism (default 4)")
    up.add_argument("--workers", type=int, default=None, help="Celery worker processes (default 2)")
    up.add_argument("--worker-concurrency", type=int, default=None,
                    help="task slots per Celery worker (default: parallelism / workers)")
    up.add_argument("--extra-dags", action="append", default=None, metavar="DIR",
                    help="another DAG folder (a second DAG bundle); repeatable")
    up.add_argument("--env", action="append", default=None, metavar="KEY=VALUE",
                    help="an environment variable of the Airflow processes (replaces earlier --env settings)")
    up.add_argument("--api-port", type=int, default=None, help="api-server port (default: a free port, kept)")
    up.add_argument("--timeout", type=float, default=240.0)
    sub.add_parser("down", help="stop every service by its pid")
    status = sub.add_parser("status", help="each service, pid, port and health")
    status.add_argument("--json", action="store_true")
    sub.add_parser("env", help="print export lines to use the airflow CLI against the stack")
    args = parser.parse_args(argv)
    stack = Stack(args.state_dir)
    if args.command == "up":
        stack.up(
            executor=args.executor, parallelism=args.parallelism, workers=args.workers,
            worker_concurrency=args.worker_concurrency, extra_dags=args.extra_dags, api_port=args.api_port,
            env=dict(item.split("=", 1) for item in args.env) if args.env else None,
            timeout=args.timeout,
        )  # fmt: skip
        _print_status(stack.status())
        return 0
    if args.command == "down":
        stack.down()
        return 0
    if args.command == "status":
        rows = stack.status()
        if args.json:
            print(json.dumps(rows))
        else:
            _print_status(rows)
        return 0 if rows and all(r["healthy"] for r in rows) else 1
    if args.command == "env":
        if not stack.state:
            print("no stack here: run scripts/stack up", file=sys.stderr)
            return 1
        base = _clean_env()
        for key, value in sorted(stack.airflow_env().items()):
            if base.get(key) != value:
                print(f"export {key}={_shell_quote(value)}")
        print(f"export PATH={_shell_quote(str(Path(airflow_bin()).parent) + os.pathsep + os.environ.get('PATH', ''))}")
        return 0
    return 2


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _print_status(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no stack (run scripts/stack up)")
        return
    print(f"{'SERVICE':<16} {'PID':>8} {'PORT':>6}  HEALTH")
    for row in rows:
        health = "healthy" if row["healthy"] else ("running" if row["running"] else "stopped")
        print(f"{row['service']:<16} {row['pid'] or '-':>8} {row['port'] or '-':>6}  {health}")


if __name__ == "__main__":
    sys.exit(main())
