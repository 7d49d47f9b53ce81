"""docker-compose.yaml and the Dockerfile, checked by parsing (no Docker engine runs here).

Every service of Airflow 3's official layout is there, the image installs this provider with
Airflow pinned to the version the tests run, dags/ is mounted, and every connection, volume and
environment variable the example DAGs need is defined and consistent with the services.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from importlib.metadata import version
from typing import Any

import pytest
import yaml

from tests.fixtures.paths import REPO_ROOT

REPO = REPO_ROOT
COMPOSE = REPO / "docker-compose.yaml"
DOCKERFILE = REPO / "Dockerfile"

AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
OFFICIAL_SERVICES = {"postgres", "redis", "airflow-init", "airflow-cli", "flower", *AIRFLOW_SERVICES}
AZURE_STANDINS = {"azurite", "mlendpoints-emulator"}
LONG_RUNNING = {"postgres", "redis", "azurite", "mlendpoints-emulator", *AIRFLOW_SERVICES}

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def interpolate(value: Any) -> Any:
    """Compose's ``${VAR:-default}`` with an empty environment (the defaults a user gets)."""
    if isinstance(value, str):
        # ``$$`` is compose's escape of a literal ``$`` (left for the container's shell)
        return _VAR.sub(lambda m: "$" if m.group(0) == "$$" else (m.group(2) or ""), value)
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return interpolate(yaml.safe_load(COMPOSE.read_text()))


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def command_of(service: dict[str, Any]) -> list[str]:
    """entrypoint + command as one argument list."""

    def as_list(value: Any) -> list[str]:
        if value is None:
            return []
        return value.split() if isinstance(value, str) else [str(v) for v in value]

    return as_list(service.get("entrypoint")) + as_list(service.get("command"))


def dockerfile_args() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)", DOCKERFILE.read_text(), flags=re.M))


def test_every_service_of_the_official_layout_plus_azure_standins(services):
    assert set(services) >= OFFICIAL_SERVICES | AZURE_STANDINS
    for name, command in AIRFLOW_SERVICES.items():
        assert " ".join(command_of(services[name])) == command, name
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["airflow-cli"]["profiles"] == ["debug"]
    assert services["flower"]["profiles"] == ["flower"]


def test_image_installs_the_provider_with_airflow_pinned(compose, services):
    tested = version("apache-airflow")
    args = dockerfile_args()
    assert args["AIRFLOW_VERSION"] == tested == "3.3.2"
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}", text, flags=re.M)
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in text  # pip may not move Airflow
    # the provider's sources are copied from the build context and installed
    assert re.search(r"^COPY .*pyproject\.toml", text, flags=re.M)
    assert re.search(r"^COPY .*airflow_provider_mlendpoints", text, flags=re.M)
    extras = re.search(r'"/opt/mlendpoints\[([a-z,]+)\]"', text)
    # the example DAGs build a scikit-learn and an MLflow model
    assert extras and {"demo", "mlflow"} <= set(extras.group(1).split(","))
    ignored = [
        line.strip() for line in (REPO / ".dockerignore").read_text().splitlines() if not line.startswith("#")
    ]
    assert not {"pyproject.toml", "README.md", "airflow_provider_mlendpoints"} & set(ignored)
    # one image for every Airflow service and the emulator, built from this Dockerfile at the tested version
    for name in {*AIRFLOW_SERVICES, "airflow-init", "mlendpoints-emulator"}:
        service = services[name]
        assert service["build"]["context"] == "."
        assert service["build"].get("dockerfile", "Dockerfile") == DOCKERFILE.name
        assert service["build"]["args"]["AIRFLOW_VERSION"] == tested
        assert service["image"].endswith(f":{tested}")


def test_airflow_settings_point_at_the_services(services):
    env = services["airflow-scheduler"]["environment"]
    pg = services["postgres"]["environment"]
    creds = f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres/{pg['POSTGRES_DB']}"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"postgresql+psycopg2://{creds}"
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which the image does not have
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+postgresql+psycopg2://{creds}"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:6379/" in env["AIRFLOW__CELERY__BROKER_URL"]
    api_port = services["airflow-apiserver"]["ports"][0].split(":")[-1]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://airflow-apiserver:{api_port}/execution/"
    assert env["AIRFLOW_CONFIG"].startswith("/opt/airflow/config/")  # shared secrets for every container
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


def test_dags_folder_mounted_everywhere(services):
    for name in {*AIRFLOW_SERVICES, "airflow-init"}:
        mounts = dict(v.rsplit(":", 1)[::-1] for v in services[name]["volumes"])
        assert mounts["/opt/airflow/dags"] == "./dags", name
        assert "AIRFLOW__CORE__DAGS_FOLDER" not in services[name]["environment"]  # the image default
    assert (REPO / "dags").is_dir()


def test_named_volumes_are_declared(compose, services):
    declared = set(compose["volumes"])
    used = set()
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                used.add(source)
    assert used == declared


def _connections(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        key[len("AIRFLOW_CONN_") :].lower(): json.loads(value)
        for key, value in env.items()
        if key.startswith("AIRFLOW_CONN_")
    }


def _host_port(url: str) -> tuple[str, int]:
    match = re.match(r"https?://([^:/]+):(\d+)", url)
    assert match, url
    return match.group(1), int(match.group(2))


def _blob_endpoint(connection_string: str) -> str:
    parts = dict(p.split("=", 1) for p in connection_string.strip(";").split(";"))
    return parts["BlobEndpoint"]


def _emulator_flags(services) -> dict[str, str]:
    """The emulator's command line (``bash -c "exec mlendpoints emulator ..."``) as flag -> value."""
    bash = command_of(services["mlendpoints-emulator"])
    assert bash[:2] == ["/bin/bash", "-c"]
    words = shlex.split(bash[2])
    assert words[:3] == ["exec", "mlendpoints", "emulator"]
    return dict(zip(words[3::2], words[4::2], strict=False))


def _init_script(services) -> str:
    return " ".join(command_of(services["airflow-init"]))


def test_emulator_and_azurite_connections_match_the_services(services):
    from airflow_provider_mlendpoints.hooks.ml_endpoints import CONN_TYPE

    conns = _connections(services["airflow-worker"]["environment"])
    flags = _emulator_flags(services)
    assert flags["--host"] == "0.0.0.0"

    # the emulator's connection is stored by airflow-init (with the token it generates)
    ml = json.loads(services["airflow-init"]["environment"]["MLENDPOINTS_EMULATOR_CONNECTION"])
    assert ml["conn_type"] == CONN_TYPE
    assert _host_port(ml["host"]) == ("mlendpoints-emulator", int(flags["--port"]))
    extra = ml["extra"]
    assert "token" not in extra and extra["auth_type"] == "token"
    for field in ("subscription_id", "resource_group", "workspace_name"):
        assert extra[field], field
    assert f"127.0.0.1:{flags['--port']}:{flags['--port']}" in services["mlendpoints-emulator"]["ports"]

    azurite_cmd = command_of(services["azurite"])
    az_flags = dict(zip(azurite_cmd[1::2], azurite_cmd[2::2], strict=False))
    assert azurite_cmd[0] == "azurite-blob" and az_flags["--blobHost"] == "0.0.0.0"
    assert "--skipApiVersionCheck" in azurite_cmd  # needed with the current azure-storage-blob
    azurite = ("azurite", int(az_flags["--blobPort"]))
    wasb = conns["wasb_default"]
    assert wasb["conn_type"] == "wasb"
    assert _host_port(_blob_endpoint(wasb["extra"]["connection_string"])) == azurite
    for account, target in extra["storage_urls"].items():
        assert account == "devstoreaccount1"
        assert _host_port(_blob_endpoint(target) if "BlobEndpoint=" in target else target) == azurite
    emulator_env = services["mlendpoints-emulator"]["environment"]
    assert _host_port(_blob_endpoint(emulator_env["MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING"])) == azurite
    # the emulator does not create its datastore container: airflow-init does, with the same settings
    init = services["airflow-init"]
    for key in ("MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING", "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER"):
        assert init["environment"][key] == emulator_env[key], key
    script = _init_script(services)
    assert "create_container(name)" in script and "build_model.py" in script
    # the same connections in every Airflow container
    for name in AIRFLOW_SERVICES:
        assert _connections(services[name]["environment"]) == conns, name


def _dag_conn_ids_and_env() -> tuple[set[str], set[str], set[str]]:
    """Connection ids named in dags/*.py, env vars they read with and without a default."""
    conn_ids: set[str] = set()
    env_required: set[str] = set()
    env_optional: set[str] = set()
    for path in sorted((REPO / "dags").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg and node.arg.endswith("conn_id"):
                value = node.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    conn_ids.add(value.value)
                elif isinstance(value, ast.Name) and value.id in constants:
                    conn_ids.add(constants[value.id])
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                owner = ast.unparse(node.func.value)
                first = node.args[0]
                reader = (owner, node.func.attr) in (("os.environ", "get"), ("os", "getenv"))
                if reader and isinstance(first, ast.Constant):
                    (env_optional if len(node.args) > 1 else env_required).add(first.value)
            elif (
                isinstance(node, ast.Subscript)
                and ast.unparse(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
            ):
                env_required.add(node.slice.value)
        for name, value in constants.items():
            if name.endswith("CONN_ID"):
                conn_ids.add(value)
    return conn_ids, env_required, env_optional


def test_every_connection_and_variable_the_dags_need_is_set(services):
    from airflow_provider_mlendpoints.hooks.ml_endpoints import MLEndpointsHook

    conn_ids, env_required, _ = _dag_conn_ids_and_env()
    # operators default to the hook's connection and WasbHook's; both are always defined
    conn_ids |= {MLEndpointsHook.default_conn_name, "wasb_default"}
    # azure_ml_endpoints_default is stored in the database by airflow-init (its token is generated)
    assert f"airflow connections add {MLEndpointsHook.default_conn_name}" in _init_script(services)
    conn_ids -= {MLEndpointsHook.default_conn_name}
    required = (env_required - _with_or_fallback()) | {"MLENDPOINTS_DEMO_DIR"}
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        defined = set(_connections(env))
        assert conn_ids <= defined, (name, conn_ids - defined)
        assert required <= set(env), (name, required - set(env))
        # the example DAGs' dated inputs and outputs live on a volume every container shares
        mounts = dict(v.rsplit(":", 1)[::-1] for v in services[name]["volumes"])
        assert mounts[env["MLENDPOINTS_DEMO_DIR"]] in yaml.safe_load(COMPOSE.read_text())["volumes"]


def _with_or_fallback() -> set[str]:
    """Env vars read as ``os.environ.get("X") or default`` in dags/*.py (a default all the same)."""
    found = set()
    for path in (REPO / "dags").glob("*.py"):
        found |= set(re.findall(r'os\.environ\.get\("(\w+)"\)\s+or\b', path.read_text()))
    return found


def test_healthchecks_and_startup_order(services):
    for name in LONG_RUNNING:
        test = services[name]["healthcheck"]["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "/_emulator/health" in " ".join(services["mlendpoints-emulator"]["healthcheck"]["test"])
    infra = {"postgres", "redis", "azurite", "mlendpoints-emulator"}
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        for dependency in infra:
            assert depends[dependency]["condition"] == "service_healthy", (name, dependency)
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    # the emulator starts with the token airflow-init generates; init needs only the infrastructure
    assert services["mlendpoints-emulator"]["depends_on"] == {
        "azurite": {"condition": "service_healthy"},
        "airflow-init": {"condition": "service_completed_successfully"},
    }
    assert set(services["airflow-init"]["depends_on"]) == infra - {"mlendpoints-emulator"}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services and dependency != name, (name, dependency)


def test_celery_worker_scales(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # `--scale airflow-worker=N` works
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown of Celery
    assert "AIRFLOW__CELERY__WORKER_CONCURRENCY" in worker["environment"]


def test_image_has_a_name_of_its_own(compose):
    """A habitual AIRFLOW_IMAGE_NAME=apache/airflow:... must not tag this build with the official name."""
    raw = yaml.safe_load(COMPOSE.read_text())
    images = {name: svc["image"] for name, svc in raw["services"].items() if "build" in svc}
    assert images, "no service builds the image"
    for name, image in images.items():
        assert "AIRFLOW_IMAGE_NAME" not in image, name
        assert image.startswith("${MLENDPOINTS_IMAGE_NAME:-"), name
        assert not interpolate(image).startswith("apache/airflow"), name


def test_fernet_key_is_generated_not_empty(services):
    """No empty FERNET_KEY: airflow-init writes airflow.cfg (with a generated key) shared by all."""
    for name, service in services.items():
        assert "AIRFLOW__CORE__FERNET_KEY" not in service.get("environment", {}), name
    for name in {*AIRFLOW_SERVICES, "airflow-init"}:
        env = services[name]["environment"]
        mounts = dict(v.rsplit(":", 1)[::-1] for v in services[name]["volumes"])
        config_dir = env["AIRFLOW_CONFIG"].rsplit("/", 1)[0]
        assert mounts[config_dir] == "./config", name
    assert "airflow config list" in _init_script(services)


def test_pip_additional_requirements_and_resource_warnings_of_the_official_file(services):
    for name in AIRFLOW_SERVICES:
        assert "_PIP_ADDITIONAL_REQUIREMENTS" in services[name]["environment"], name
    raw = COMPOSE.read_text()
    assert "_PIP_ADDITIONAL_REQUIREMENTS: ${_PIP_ADDITIONAL_REQUIREMENTS:-}" in raw
    script = _init_script(services)
    for warning in ("Not enough memory available", "Not enough CPUS available", "Not enough Disk space"):
        assert warning in script, warning


def test_azurite_image_is_pinned(services):
    image = services["azurite"]["image"]
    assert re.fullmatch(r"mcr\.microsoft\.com/azure-storage/azurite:\d+\.\d+\.\d+", image), image


def test_ports_are_published_on_loopback_only(services):
    published = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert {"airflow-apiserver", "azurite", "mlendpoints-emulator", "flower"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_emulator_token_is_generated_at_init(services):
    raw = COMPOSE.read_text()
    assert "mlendpoints-dev-token" not in raw and "MLENDPOINTS_EMULATOR_TOKEN:-" not in raw
    token_file = services["airflow-init"]["environment"]["MLENDPOINTS_EMULATOR_TOKEN_FILE"]
    assert services["mlendpoints-emulator"]["environment"]["MLENDPOINTS_EMULATOR_TOKEN_FILE"] == token_file
    assert _emulator_flags(services)["--token"] == "$(cat ${MLENDPOINTS_EMULATOR_TOKEN_FILE})"  # shlex unquoted
    assert '--token "$(cat "${MLENDPOINTS_EMULATOR_TOKEN_FILE}")"' in command_of(services["mlendpoints-emulator"])[2]
    script = _init_script(services)
    assert "secrets.token_urlsafe" in script and 'chmod 0640 "${MLENDPOINTS_EMULATOR_TOKEN_FILE}"' in script
    # the emulator reads it from the shared config folder, read-only
    assert "./config:/opt/airflow/config:ro" in services["mlendpoints-emulator"]["volumes"]


def test_init_prepares_the_model_and_todays_inputs(services):
    script = _init_script(services)
    demo_dir = services["airflow-init"]["environment"]["MLENDPOINTS_DEMO_DIR"]
    assert "today=$(date -u +%F)" in script
    assert f'--inputs "{demo_dir}/inputs/${{today}}"' in script
    assert f'--labels "{demo_dir}/labels/${{today}}.csv"' in script


def test_dags_paused_at_creation_as_in_the_stack(services):
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    from stack_services import Stack

    stack = Stack(REPO / ".stack-compose-test-unused")
    stack.state = {"token": "t", "fernet_key": "k", "demo_dir": "/d", "ports": dict.fromkeys(
        ("postgres", "redis", "azurite", "emulator", "api-server"), 1)}
    stack_value = stack.airflow().env()["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]
    for name in AIRFLOW_SERVICES:
        compose_value = services[name]["environment"]["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"]
        assert compose_value.lower() == stack_value.lower() == "true", name
