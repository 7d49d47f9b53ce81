"""Benchmark of the Azure ML REST client against the workspace emulator.

(i) Requests per completed batch lifecycle: create endpoint, create a deployment
    from local assets (uploaded to the default datastore on Azurite and
    registered), set it default (full-body PUT), invoke, wait for the job,
    download the predictions, delete deployment and endpoint. Run once without
    faults, then once with ~30% faults (429 with Retry-After, 500 and dropped
    connections, before and after processing; fixed seed) plus two scripted
    ones: the first invoke POST and the first endpoint PUT lose their answer
    after being applied. Counted twice: by the emulator
    (``/_emulator/requests``, per route) and by the client (a counting
    transport handed to the client through its ``transport`` keyword: every
    request sent, retries included, and how many answers carried a Retry-After
    the client then waited: throttling 429s and 202 polls).
(ii) 500 concurrent job waits with the AsyncMLEndpointsClient in one process
    (a child process, so its peak RSS is its own): 500 batch jobs are started
    on an emulator whose jobs are no-op timers
    (``MLENDPOINTS_EMULATOR_NOOP_JOB_SECONDS``), then ``asyncio.gather`` runs
    500 ``jobs.wait`` loops (Retry-After honored when sent, else the polling
    interval). Reported: peak RSS, wall time, requests and requests per second
    during the waits.

Human-readable lines first; the last line is one JSON object with the figures.
``--quick`` uses 20 waits and shorter jobs (checks the harness; figures mean little).
Needs Azurite: ``.tools/node_modules/.bin/azurite-blob`` (``make azurite``) or
``azurite-blob`` on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport  # noqa: E402

from airflow_provider_mlendpoints.client import (  # noqa: E402
    AsyncMLEndpointsClient,
    AsyncStaticTokenCredential,
    MLEndpointsClient,
    RetrySettings,
    StaticTokenCredential,
    WorkspaceConfig,
    batch_invoke_body,
)

SUB, RG, WS = "00000000-1111-2222-3333-444444444444", "rg-emulator", "ws-emulator"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
WS_PREFIX = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
)
FAULTS = {
    "throttle_rate": 0.10,
    "error_rate": 0.06,
    "drop_rate": 0.05,
    "after_error_rate": 0.05,
    "after_drop_rate": 0.04,
    "retry_after": 1,
    "seed": 7,
    # On top of the random faults: the first invoke POST loses its answer after the job was
    # created (the client must find that job, not start a second one), and the first endpoint
    # PUT answers 500 after applying (the retried PUT meets the first one's operation).
    "script": [
        {"fault": "after_drop", "match": "^/batch/", "method": "POST"},
        {"fault": "after_500", "match": "/batchEndpoints/[^/]+$", "method": "PUT"},
    ],
}
SCORE_PY = """
import os
def init():
    global MODEL
    MODEL = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.txt")).read().strip()
def run(mini_batch):
    return [f"{os.path.basename(p)} {MODEL}" for p in mini_batch]
"""


# -- counting transports (the client's ``transport`` keyword; no change to the client) ----------
class _Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.transport_errors = 0
        self.retry_after_waits = 0
        self.by_status: Counter[int] = Counter()

    def record(self, response: Any) -> None:
        status = response.status_code
        self.by_status[status] += 1
        if status in (202, 429) and response.headers.get("Retry-After"):
            self.retry_after_waits += 1

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


class CountingTransport(RequestsTransport):
    """RequestsTransport that tallies every request it sends (retries included)."""

    def __init__(self, tally: _Tally, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tally = tally

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.tally.requests += 1
        try:
            response = super().send(request, **kwargs)
        except Exception:
            self.tally.transport_errors += 1
            raise
        self.tally.record(response)
        return response

    def close(self) -> None:  # shared by the client's three pipelines: closed once, by the owner
        pass

    def really_close(self) -> None:
        super().close()


class AsyncCountingTransport(AioHttpTransport):
    """AioHttpTransport that tallies every request it sends."""

    def __init__(self, tally: _Tally, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tally = tally

    async def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.tally.requests += 1
        try:
            response = await super().send(request, **kwargs)
        except Exception:
            self.tally.transport_errors += 1
            raise
        self.tally.record(response)
        return response

    async def close(self) -> None:
        pass

    async def really_close(self) -> None:
        await super().close()


# -- services ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes], group: bool = False) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def azurite(workdir: Path) -> Iterator[str]:
    """Start azurite-blob; yields its connection string."""
    binary = REPO / ".tools" / "node_modules" / ".bin" / "azurite-blob"
    found = str(binary) if binary.exists() else shutil.which("azurite-blob")
    if not found:
        raise SystemExit("azurite-blob not found: run `make azurite`")
    port = _free_port()
    location = workdir / "azurite"
    location.mkdir(parents=True, exist_ok=True)
    cmd = [found, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location),
           "--silent", "--skipApiVersionCheck", "--disableTelemetry"]  # fmt: skip
    with open(workdir / "azurite.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{endpoint}?comp=list"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"azurite did not start: {(workdir / 'azurite.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={endpoint};"
        )
    finally:
        _stop(proc, group=True)


@contextlib.contextmanager
def emulator(
    workdir: Path, env: dict[str, str], provisioning_delay: float = 1.0
) -> Iterator[tuple[str, str]]:
    """Start ``mlendpoints emulator`` on a free port; yields (base URL, token)."""
    token = secrets.token_urlsafe(16)
    port = _free_port()
    script = Path(sys.executable).with_name("mlendpoints")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "airflow_provider_mlendpoints.cli"]
    cmd += ["emulator", "--host", "127.0.0.1", "--port", str(port), f"--token={token}", "--allow-local-paths"]
    child_env = {**os.environ, "MLENDPOINTS_EMULATOR_PROVISIONING_DELAY": str(provisioning_delay), **env}
    log_path = workdir / f"emulator-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO), env=child_env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/_emulator/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"emulator did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield base, token
    finally:
        _stop(proc)


def admin(base: str, token: str, path: str, body: Any = None, method: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + path, data=data, method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read() or b"null")


OPS_PREFIX = "/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{location}"


def short_route(route: str) -> str:
    return route.replace(WS_PREFIX, "{ws}").replace(OPS_PREFIX, "{operations}")


def config(base: str, storage: dict[str, str] | None = None, polling: float = 0.5) -> WorkspaceConfig:
    return WorkspaceConfig(
        SUB, RG, WS, management_url=base, storage_urls=storage or {},
        retry=RetrySettings(retry_total=10, backoff_factor=0.05, backoff_max=1.0, max_retry_after=5),
        polling_interval=polling, max_polling_interval=5,
    )  # fmt: skip


# -- (i) lifecycle ----------------------------------------------------------------------------------
def lifecycle(client: MLEndpointsClient, connection_string: str, workdir: Path) -> str:
    """One full lifecycle; returns the job name (raises if anything is off)."""
    from azure.storage.blob import ContainerClient

    from airflow_provider_mlendpoints.client.asset_upload import AssetResolver
    from airflow_provider_mlendpoints.client.converge import create_or_update_and_wait, delete_and_wait
    from airflow_provider_mlendpoints.client.results import download_job_output
    from airflow_provider_mlendpoints.specs.model import (
        BatchDeploymentSpec,
        BatchEndpointSpec,
        CodeSpec,
        EnvironmentSpec,
        ModelSpec,
    )

    ep_name = f"be-{uuid.uuid4().hex[:8]}"
    root = workdir / ep_name
    (root / "code").mkdir(parents=True)
    (root / "code" / "score.py").write_text(SCORE_PY)
    (root / "model").mkdir()
    (root / "model" / "model.txt").write_text("m1")
    for folder in ("code", "model"):  # new content each run: every lifecycle uploads and registers
        (root / folder / "lifecycle.txt").write_text(ep_name)
    (root / "conda.yml").write_text(f"name: score  # {ep_name}\ndependencies:\n  - python=3.11\n")
    store = client.datastores.get_default()
    with ContainerClient.from_connection_string(connection_string, store.container_name) as cc:
        for i in range(3):
            cc.upload_blob(f"inputs/{ep_name}/f{i}.txt", b"x", overwrite=True)

    create_or_update_and_wait(
        client.batch_endpoints, ep_name, body=BatchEndpointSpec(name=ep_name).to_rest("eastus")
    )
    spec = BatchDeploymentSpec(
        name="blue",
        endpoint_name=ep_name,
        model=ModelSpec(path=str(root / "model")),
        code=CodeSpec(scoring_script="score.py", path=str(root / "code")),
        environment=EnvironmentSpec(image="python:3.11", conda_file=str(root / "conda.yml")),
        mini_batch_size=2,
    )
    body = spec.to_rest("eastus", resolve=AssetResolver(client))
    create_or_update_and_wait(client.batch_deployments, ep_name, "blue", body=body)
    full = client.batch_endpoints.get(ep_name).raw
    full["properties"]["defaults"] = {"deploymentName": "blue"}
    create_or_update_and_wait(client.batch_endpoints, ep_name, body=full)
    inputs = f"azureml://datastores/workspaceblobstore/paths/inputs/{ep_name}/"
    job = client.invoke_batch_endpoint(ep_name, batch_invoke_body({"input_data": inputs}))
    done = client.jobs.wait(job.name, timeout=600)
    if done.status != "Completed":
        raise RuntimeError(f"job {job.name} ended {done.status}")
    files = download_job_output(client, done, root / "out")
    rows = sorted(
        x for x in next(p for p in files if p.name == "predictions.csv").read_text().split("\n") if x
    )
    if rows != ["f0.txt m1", "f1.txt m1", "f2.txt m1"]:
        raise RuntimeError(f"unexpected predictions {rows}")
    delete_and_wait(client.batch_deployments, ep_name, "blue")
    delete_and_wait(client.batch_endpoints, ep_name)
    return str(job.name)


def run_lifecycles(workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with azurite(workdir) as conn:
        container = f"bench-{uuid.uuid4().hex[:12]}"
        from azure.storage.blob import BlobServiceClient

        with BlobServiceClient.from_connection_string(conn) as svc:
            svc.create_container(container)
        env = {
            "MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING": conn,
            "MLENDPOINTS_EMULATOR_STORAGE_CONTAINER": container,
        }
        with emulator(workdir, env) as (base, token):
            tally = _Tally()
            transport = CountingTransport(tally)
            cfg = config(base, {ACCOUNT: conn})
            with MLEndpointsClient(cfg, StaticTokenCredential(token), transport=transport) as client:
                for label, faults in (("lifecycle", None), ("faulty_lifecycle", FAULTS)):
                    jobs_before = {j.name for j in client.jobs.list()}
                    admin(base, token, "/_emulator/requests", method="DELETE")
                    admin(base, token, "/_emulator/faults", faults or {})
                    tally.reset()
                    started = time.monotonic()
                    job_name = lifecycle(client, conn, workdir)
                    seconds = time.monotonic() - started
                    sent, ra_waits, lost = tally.requests, tally.retry_after_waits, tally.transport_errors
                    counters = admin(base, token, "/_emulator/requests")
                    admin(base, token, "/_emulator/faults", {})
                    created = [j.name for j in client.jobs.list() if j.name not in jobs_before]
                    out[f"{label}_requests"] = counters["total"]
                    out[f"{label}_requests_by_route"] = {
                        short_route(k): v for k, v in sorted(counters["by_route"].items())
                    }
                    out[f"{label}_client_requests"] = sent
                    out[f"{label}_retry_after_waits"] = ra_waits
                    out[f"{label}_unanswered"] = lost
                    out[f"{label}_seconds"] = round(seconds, 2)
                    out[f"{label}_jobs_created"] = len(created)
                    if faults:
                        out["faults_injected"] = counters["faults_total"]
                        out["faults_by_kind"] = counters["faults"]
                    if created != [job_name]:
                        raise RuntimeError(f"{label}: expected exactly job {job_name}, found {created}")
            transport.really_close()
    return out


# -- (ii) concurrent waits (child process) ------------------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _waits(base: str, token: str, n: int, workdir: Path, poll: float) -> dict[str, Any]:
    from airflow_provider_mlendpoints.client.converge import create_or_update_and_wait

    data = workdir / "wait-input"
    data.mkdir(parents=True, exist_ok=True)
    (data / "a.txt").write_text("x")
    tally = _Tally()
    transport = AsyncCountingTransport(tally)
    cfg = config(base, polling=poll)
    async with AsyncMLEndpointsClient(cfg, AsyncStaticTokenCredential(token), transport=transport) as client:
        await create_or_update_and_wait(
            client.batch_endpoints, "waits", body={"location": "eastus", "properties": {}}
        )
        await create_or_update_and_wait(
            client.batch_deployments, "waits", "d", body={"location": "eastus", "properties": {}}
        )
        uri = (await client.batch_endpoints.get("waits")).scoring_uri
        gate = asyncio.Semaphore(32)

        async def start(i: int) -> str:
            async with gate:
                job = await client.invoke_batch_endpoint(
                    "waits", batch_invoke_body({"in": str(data)}), scoring_uri=uri
                )
                return str(job.name)

        names = await asyncio.gather(*(start(i) for i in range(n)))
        rss_before = _rss_mb()
        tally.reset()
        admin(base, token, "/_emulator/requests", method="DELETE")
        started = time.monotonic()
        jobs = await asyncio.gather(*(client.jobs.wait(name, timeout=600) for name in names))
        seconds = time.monotonic() - started
        server = admin(base, token, "/_emulator/requests")["total"]
    await transport.really_close()
    return {
        "concurrent_waits": n,
        "waits_completed": sum(1 for j in jobs if j.status == "Completed"),
        "waits_seconds": round(seconds, 2),
        "waits_requests": tally.requests,
        "waits_server_requests": server,
        "waits_requests_per_s": round(tally.requests / seconds, 1) if seconds else None,
        "waits_retry_after_waits": tally.retry_after_waits,
        "waits_rss_before_mb": round(rss_before, 1),
        "waits_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def waits_child(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"MLENDPOINTS_EMULATOR_NOOP_JOB_SECONDS": str(args.job_seconds)}
    with emulator(workdir, env, provisioning_delay=0.2) as (base, token):
        result = asyncio.run(_waits(base, token, args.waits, workdir, args.poll))
    print(json.dumps(result))


def run_waits(n: int, job_seconds: float, poll: float, workdir: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--waits-child", "--waits", str(n), "--job-seconds", str(job_seconds),
           "--poll", str(poll), "--workdir", str(workdir)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"waits child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 waits, short jobs: checks the harness")
    parser.add_argument("--waits", type=int, default=None)
    parser.add_argument("--job-seconds", type=float, default=None, help="no-op job duration for the waits")
    parser.add_argument(
        "--poll", type=float, default=1.0, help="seconds between job polls without Retry-After"
    )
    parser.add_argument("--waits-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.waits_child:
        waits_child(args)
        return
    n = args.waits or (20 if args.quick else 500)
    job_seconds = args.job_seconds or (3.0 if args.quick else 20.0)
    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        workdir = Path(tmp)
        figures = run_lifecycles(workdir)
        print(
            f"lifecycle without faults: {figures['lifecycle_requests']} requests at the emulator "
            f"({figures['lifecycle_client_requests']} sent by the client, "
            f"{figures['lifecycle_retry_after_waits']} waits honoring Retry-After), "
            f"{figures['lifecycle_seconds']} s"
        )
        for route, count in figures["lifecycle_requests_by_route"].items():
            print(f"  {count:4d}  {route}")
        print(
            f"lifecycle with ~30% faults: {figures['faulty_lifecycle_requests']} requests at the emulator "
            f"({figures['faults_injected']} faults injected: {figures['faults_by_kind']}; "
            f"{figures['faulty_lifecycle_retry_after_waits']} waits honoring Retry-After, "
            f"{figures['faulty_lifecycle_unanswered']} requests left unanswered), "
            f"{figures['faulty_lifecycle_seconds']} s, jobs created: {figures['faulty_lifecycle_jobs_created']}"
        )
        waits = run_waits(n, job_seconds, args.poll, workdir / "waits")
        print(
            f"{waits['concurrent_waits']} concurrent job waits (async client, one process): "
            f"{waits['waits_completed']} completed in {waits['waits_seconds']} s, "
            f"{waits['waits_requests']} requests ({waits['waits_requests_per_s']}/s), "
            f"peak RSS {waits['waits_peak_rss_mb']} MiB (before waiting: {waits['waits_rss_before_mb']} MiB)"
        )
    figures.update(waits)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
