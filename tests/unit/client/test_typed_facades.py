"""The client facades are typed per flavour: mypy sees ``client.jobs.get()`` as a ``Job`` and
``aclient.jobs.get()`` as an awaitable of one (see ``client/faces.py``).

Two checks: mypy itself reads small programs using ``typing.assert_type`` (one correct, one with
wrong expectations it must reject), and every group method that sends a request carries a face
(the descriptor that types it per flavour from its one signature), bound on both clients to the
one implementation.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.client import (
    AsyncMLEndpointsClient,
    AsyncStaticTokenCredential,
    MLEndpointsClient,
    StaticTokenCredential,
    WorkspaceConfig,
)
from airflow_provider_mlendpoints.client._facade import _ClientBase
from airflow_provider_mlendpoints.client.faces import Face
from airflow_provider_mlendpoints.client.invoke import InvokeOperations
from airflow_provider_mlendpoints.client.jobs import JobsOperations
from tests.fixtures.paths import REPO_ROOT

GOOD = '''
import asyncio
from typing import assert_type

from azure.core.rest import AsyncHttpResponse, HttpResponse

from airflow_provider_mlendpoints.client import AsyncMLEndpointsClient, MLEndpointsClient
from airflow_provider_mlendpoints.client.operation_status import OperationHandle, OperationStatus
from airflow_provider_mlendpoints.client.pipeline import AsyncMLPoller, MLPoller
from airflow_provider_mlendpoints.client.resources import (
    AssetVersion, BatchDeployment, BatchEndpoint, Compute, Datastore, EndpointKeys, Job,
    OnlineDeployment, OnlineEndpoint,
)


def sync_client(client: MLEndpointsClient) -> None:
    assert_type(client.jobs.get("j"), Job)
    assert_type(client.jobs.list(limit=3), list[Job])
    assert_type(client.jobs.wait("j", timeout=5), Job)
    assert_type(client.jobs.get_response("j"), HttpResponse)
    assert_type(client.batch_endpoints.get("e"), BatchEndpoint)
    assert_type(client.batch_endpoints.list_keys("e"), EndpointKeys)
    assert_type(client.batch_deployments.get("e", "d"), BatchDeployment)
    assert_type(client.online_endpoints.get("e"), OnlineEndpoint)
    assert_type(client.online_deployments.list("e"), list[OnlineDeployment])
    poller = client.online_endpoints.begin_create_or_update("e", {})
    assert_type(poller, MLPoller[OnlineEndpoint])
    assert_type(poller.result(), OnlineEndpoint)
    assert_type(client.batch_deployments.start_delete("e", "d"), OperationHandle[None])
    assert_type(client.computes.get("c"), Compute)
    assert_type(client.model_versions.get_latest("m"), AssetVersion)
    assert_type(client.datastores.get_default(), Datastore)
    assert_type(client.workspace.get_location(), str)
    assert_type(client.operations.get_status("https://x"), OperationStatus)
    assert_type(client.invoke_batch_endpoint("e", {}), Job)
    assert_type(client.get_batch_job("https://x", "j"), Job)


async def async_client(aclient: AsyncMLEndpointsClient) -> None:
    assert_type(await aclient.jobs.get("j"), Job)
    assert_type(await aclient.jobs.list(limit=3), list[Job])
    assert_type(await aclient.jobs.wait("j", timeout=5), Job)
    assert_type(await aclient.jobs.get_response("j"), AsyncHttpResponse)
    assert_type(aclient.jobs.parse_answer({}), Job)
    assert_type(await aclient.batch_endpoints.get("e"), BatchEndpoint)
    assert_type(await aclient.batch_deployments.get("e", "d"), BatchDeployment)
    poller = await aclient.online_endpoints.begin_create_or_update("e", {})
    assert_type(poller, AsyncMLPoller[OnlineEndpoint])
    assert_type(await poller.result(), OnlineEndpoint)
    assert_type(await aclient.computes.get("c"), Compute)
    assert_type(await aclient.model_versions.get_latest("m"), AssetVersion)
    assert_type(await aclient.datastores.get_default(), Datastore)
    assert_type(await aclient.workspace.get_location(), str)
    assert_type(await aclient.invoke_batch_endpoint("e", {}), Job)
    assert_type(await asyncio.create_task(aclient.jobs.get("j")), Job)  # a coroutine, as async def gives
'''

# Each line is wrong in one way mypy must notice; the marker names the line in mypy's output.
BAD = '''
from typing import Any, assert_type

from airflow_provider_mlendpoints.client import AsyncMLEndpointsClient, MLEndpointsClient
from airflow_provider_mlendpoints.client.resources import BatchEndpoint, Job


def sync_client(client: MLEndpointsClient) -> None:
    assert_type(client.jobs.get("j"), Any)  # BAD-1 the sync client returns a Job, not Any
    assert_type(client.batch_endpoints.get("e"), Job)  # BAD-2 an endpoint is no Job


async def async_client(aclient: AsyncMLEndpointsClient) -> None:
    assert_type(aclient.jobs.get("j"), Job)  # BAD-3 not awaited: an awaitable, not a Job
    job: Job = await aclient.jobs.list()  # BAD-4 a list of jobs
    aclient.jobs.get(name=1)  # BAD-5 the name is a str
'''


def _run_mypy(tmp_path: Path, *files: Path) -> str:
    command = [
        sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--follow-imports=silent",
        "--python-version", "3.11", "--no-error-summary", "--show-error-codes", "--config-file", "/dev/null",
        "--cache-dir", str(tmp_path / "mypy-cache"), *map(str, files),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr  # 2: mypy itself failed
    return done.stdout


@pytest.mark.slow
def test_mypy_reads_the_facades_per_flavour(tmp_path: Path) -> None:
    good = tmp_path / "good_use.py"
    bad = tmp_path / "bad_use.py"
    good.write_text(textwrap.dedent(GOOD))
    bad.write_text(textwrap.dedent(BAD))

    output = _run_mypy(tmp_path, good, bad)

    good_lines = [line for line in output.splitlines() if line.startswith(str(good))]
    assert good_lines == [], "\n".join(good_lines)
    bad_source = bad.read_text().splitlines()
    flagged = {
        bad_source[int(line.split(":")[1]) - 1].split("# ")[-1].split()[0]
        for line in output.splitlines()
        if line.startswith(str(bad)) and ": error:" in line
    }
    assert flagged == {"BAD-1", "BAD-2", "BAD-3", "BAD-4", "BAD-5"}, output


# -- every method that sends a request has a face; both clients run the one implementation --------
PLAIN = {"parse_answer", "version_id"}  # no request: the same value on both clients


def _public(cls: type) -> dict[str, typing.Any]:
    return {name: member for name, member in vars_of(cls).items() if not name.startswith("_")}


def vars_of(cls: type) -> dict[str, typing.Any]:
    """The class attributes as defined (no descriptor called), base classes first."""
    found: dict[str, typing.Any] = {}
    for klass in reversed(cls.__mro__):
        found.update(vars(klass))
    return found


def _parameters(fn: typing.Any) -> list[tuple[str, object, object]]:
    signature = inspect.signature(fn)
    return [(p.name, p.kind, p.default) for p in signature.parameters.values() if p.name != "self"]


@pytest.fixture(scope="module")
def clients() -> typing.Iterator[tuple[MLEndpointsClient, AsyncMLEndpointsClient]]:
    config = WorkspaceConfig("sub", "rg", "ws", management_url="http://127.0.0.1:9")
    sync = MLEndpointsClient(config, StaticTokenCredential("t"))
    asynchronous = AsyncMLEndpointsClient(config, AsyncStaticTokenCredential("t"))
    yield sync, asynchronous
    sync.close()


GROUPS = sorted(name for name in _ClientBase.__annotations__ if not name.startswith("_") and name != "config")
CLIENT_METHODS = ("invoke_batch_endpoint", "get_batch_job", "score_online")


def test_every_group_is_typed_by_the_client_flavour() -> None:
    assert "jobs" in GROUPS and "operations" in GROUPS
    for name in GROUPS:
        annotation = _ClientBase.__annotations__[name]
        assert annotation.endswith("[X]"), f"_ClientBase.{name}: {annotation}"  # typed by the executor


@pytest.mark.parametrize("name", GROUPS)
def test_every_request_method_has_a_face(name: str, clients: tuple[MLEndpointsClient, AsyncMLEndpointsClient]) -> None:
    sync_client, async_client = clients
    group = type(getattr(sync_client, name))
    assert group is type(getattr(async_client, name))  # one implementation
    methods = _public(group)
    assert methods, group
    for method, member in methods.items():
        if not callable(member) or isinstance(member, type):
            continue
        if method in PLAIN:
            assert inspect.isfunction(member), f"{group.__name__}.{method}"
            continue
        assert isinstance(member, Face), f"{group.__name__}.{method} has no face: it would be untyped per flavour"
        bound = (getattr(getattr(sync_client, name), method), getattr(getattr(async_client, name), method))
        for each in bound:
            assert inspect.ismethod(each) and each.__func__ is member.fn, f"{group.__name__}.{method}"
            assert _parameters(each) == _parameters(member.fn), f"{group.__name__}.{method}"


@pytest.mark.parametrize("method", CLIENT_METHODS)
def test_client_methods_are_their_invocation_groups(
    method: str, clients: tuple[MLEndpointsClient, AsyncMLEndpointsClient]
) -> None:
    face = vars(_ClientBase)[method]
    assert isinstance(face, Face) and face.fn is getattr(InvokeOperations, method).fn
    for client in clients:
        bound = getattr(client, method)
        assert bound.__self__ is client._invoke and bound.__func__ is face.fn
        assert _parameters(bound) == _parameters(face.fn)


def test_a_face_called_on_the_class_is_the_plain_method(clients: tuple[MLEndpointsClient, AsyncMLEndpointsClient]) -> None:
    sync_client, _ = clients
    assert JobsOperations.parse_answer(sync_client.jobs, {"name": "j"}).name == "j"
    assert isinstance(JobsOperations.get, Face) and JobsOperations.get.__name__ == "get"
    assert JobsOperations.get.__doc__ == JobsOperations.get.fn.__doc__
