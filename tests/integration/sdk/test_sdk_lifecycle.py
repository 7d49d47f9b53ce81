"""Conformance: Microsoft's azure-ai-ml SDK drives the emulator through the batch and online lifecycles.

Every step is one SDK call (or a short sequence for one purpose) on a real
MLClient; the test runs all of them, records which passed, prints the tally
(``SDK steps passed: N/M``) and fails naming each failed step with its error.
Later steps that depend on a failed one fail too (counted, not skipped).
The same lifecycle runs twice: against the plain emulator and with ``--spec``
(the REST spec of ``../shared/reference``; skipped when it is absent).
"""

from __future__ import annotations

import textwrap
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.paths import SHARED_REFERENCE

from .conftest import sdk_world

REFERENCE = SHARED_REFERENCE / "azureml-rest-2024-04-01"

BATCH_SCRIPT = textwrap.dedent(
    """
    import os

    def init():
        global prefix
        model_dir = os.environ["AZUREML_MODEL_DIR"]
        with open(os.path.join(model_dir, os.listdir(model_dir)[0], "model.txt")) as f:
            prefix = f.read().strip()
        print("batch init done")

    def run(mini_batch):
        return [f"{prefix} {os.path.basename(p)} {open(p).read().strip()}" for p in mini_batch]
    """
)

ONLINE_SCRIPT = textwrap.dedent(
    """
    import json, os

    def init():
        print("online init done")

    def run(raw_data):
        data = json.loads(raw_data)["data"]
        return {"doubled": [2 * x for x in data]}
    """
)

TERMINAL = {"Completed", "Failed", "Canceled"}


class Steps:
    """Runs named steps, remembering each outcome; a step whose needs failed fails without running."""

    def __init__(self) -> None:
        self.results: list[tuple[str, str | None]] = []
        self.values: dict[str, Any] = {}

    def run(self, name: str, action: Callable[[], Any], needs: tuple[str, ...] = ()) -> Any:
        failed = [need for need in needs if need not in self.values]
        if failed:
            self.results.append((name, f"not run: needs {', '.join(failed)}"))
            return None
        try:
            value = action()
        except Exception as exc:  # noqa: BLE001 - every SDK failure is recorded with its step
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.results.append((name, detail[-1500:]))
            return None
        self.values[name] = value
        self.results.append((name, None))
        return value

    @property
    def passed(self) -> int:
        return sum(1 for _, error in self.results if error is None)

    def report(self, label: str) -> str:
        lines = [f"SDK steps passed ({label}): {self.passed}/{len(self.results)}"]
        lines += [f"  FAILED {name}: {error}" for name, error in self.results if error is not None]
        return "\n".join(lines)


def forget_sdk_deployment_header() -> None:
    """Undo an SDK quirk: batch and online ``invoke`` write the ``azureml-model-deployment`` header into
    the SDK's module-wide ``EndpointInvokeFields.DEFAULT_HEADER``, so a later invoke without
    ``deployment_name`` in the same process still targets the earlier call's deployment."""
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields

    EndpointInvokeFields.DEFAULT_HEADER.pop(EndpointInvokeFields.MODEL_DEPLOYMENT, None)


def _wait_job(ml_client: Any, name: str, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = ml_client.jobs.get(name)
        if job.status in TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(1)


def _files(tmp: Path) -> dict[str, Path]:
    folders = {name: tmp / name for name in ("batch_code", "online_code", "model", "inputs", "download")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    (folders["batch_code"] / "score.py").write_text(BATCH_SCRIPT)
    (folders["online_code"] / "score.py").write_text(ONLINE_SCRIPT)
    (folders["model"] / "model.txt").write_text("pred")
    for i in range(4):
        (folders["inputs"] / f"f{i}.txt").write_text(str(i))
    (tmp / "request.json").write_text('{"data": [1, 2, 3]}')
    folders["request"] = tmp / "request.json"
    return folders


def run_batch_lifecycle(ml_client: Any, files: dict[str, Path], steps: Steps) -> None:
    from azure.ai.ml import Input
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import (
        AmlCompute,
        BatchDeployment,
        BatchEndpoint,
        BatchRetrySettings,
        CodeConfiguration,
        Data,
        Environment,
        Model,
    )

    steps.run("workspace get", lambda: ml_client.workspaces.get(ml_client.workspace_name))
    steps.run(
        "compute create",
        lambda: ml_client.compute.begin_create_or_update(
            AmlCompute(name="cpu-cluster", size="STANDARD_DS3_V2", min_instances=0, max_instances=2)
        ).result(),
    )
    steps.run("compute get", lambda: ml_client.compute.get("cpu-cluster"), needs=("compute create",))
    model = steps.run(
        "model create (local folder upload)",
        lambda: ml_client.models.create_or_update(
            Model(name="sdk-model", path=str(files["model"]), type=AssetTypes.CUSTOM_MODEL)
        ),
    )
    steps.run("model get", lambda: ml_client.models.get("sdk-model", version=model.version),
              needs=("model create (local folder upload)",))
    environment = steps.run(
        "environment create",
        lambda: ml_client.environments.create_or_update(
            Environment(name="sdk-env", image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest")
        ),
    )
    steps.run(
        "batch endpoint create",
        lambda: ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="sdk-batch")).result(),
    )
    steps.run(
        "batch deployment create (local code upload)",
        lambda: ml_client.batch_deployments.begin_create_or_update(
            BatchDeployment(
                name="main",
                endpoint_name="sdk-batch",
                model=model,
                code_configuration=CodeConfiguration(code=str(files["batch_code"]), scoring_script="score.py"),
                environment=environment,
                compute="cpu-cluster",
                instance_count=1,
                mini_batch_size=2,
                output_action="append_row",
                output_file_name="predictions.csv",
                retry_settings=BatchRetrySettings(max_retries=1, timeout=60),
                error_threshold=0,
                logging_level="info",
            )
        ).result(),
        needs=("model create (local folder upload)", "environment create", "batch endpoint create", "compute create"),
    )
    steps.run("batch deployment get", lambda: ml_client.batch_deployments.get("main", endpoint_name="sdk-batch"),
              needs=("batch deployment create (local code upload)",))
    steps.run("batch deployment list", lambda: list(ml_client.batch_deployments.list(endpoint_name="sdk-batch")),
              needs=("batch deployment create (local code upload)",))

    def default_is_main() -> Any:
        endpoint = ml_client.batch_endpoints.get("sdk-batch")
        assert endpoint.defaults.deployment_name == "main", endpoint.defaults
        return endpoint

    steps.run("batch endpoint get (default deployment)", default_is_main,
              needs=("batch deployment create (local code upload)",))

    def invoke_and_complete(**kwargs: Any) -> Any:
        forget_sdk_deployment_header()
        job = ml_client.batch_endpoints.invoke(endpoint_name="sdk-batch", **kwargs)
        done = _wait_job(ml_client, job.name)
        assert done.status == "Completed", f"{job.name} ended {done.status}"
        return done

    folder_job = steps.run(
        "invoke with a local folder (upload)",
        lambda: invoke_and_complete(input=Input(type=AssetTypes.URI_FOLDER, path=str(files["inputs"]))),
        needs=("batch endpoint get (default deployment)",),
    )
    steps.run(
        "data asset create (local folder upload)",
        lambda: ml_client.data.create_or_update(
            Data(name="sdk-inputs", version="1", path=str(files["inputs"]), type=AssetTypes.URI_FOLDER)
        ),
    )
    steps.run(
        "invoke with a data asset",
        lambda: invoke_and_complete(
            inputs={"input_data": Input(type=AssetTypes.URI_FOLDER, path="azureml:sdk-inputs:1")},
            deployment_name="main",
        ),
        needs=("batch endpoint get (default deployment)", "data asset create (local folder upload)"),
    )
    steps.run(
        "invoke with overrides",
        lambda: invoke_and_complete(
            inputs={"input_data": Input(type=AssetTypes.URI_FOLDER, path="azureml:sdk-inputs@latest")},
            params_override=[{"mini_batch_size": 1}, {"compute.instance_count": 1}, {"output_file_name": "out.csv"}],
        ),
        needs=("batch endpoint get (default deployment)", "data asset create (local folder upload)"),
    )
    name = folder_job.name if folder_job is not None else None
    steps.run("jobs get", lambda: ml_client.jobs.get(name), needs=("invoke with a local folder (upload)",))
    steps.run("jobs stream", lambda: ml_client.jobs.stream(name), needs=("invoke with a local folder (upload)",))

    def download() -> Any:
        ml_client.jobs.download(name, download_path=str(files["download"]), all=True)
        found = sorted(p.name for p in files["download"].rglob("*") if p.is_file())
        assert "predictions.csv" in found, found
        text = next(files["download"].rglob("predictions.csv")).read_text()
        assert "pred f0.txt 0" in text, text
        return found

    steps.run("jobs download (predictions)", download, needs=("invoke with a local folder (upload)",))

    def list_jobs() -> Any:
        jobs = list(ml_client.batch_endpoints.list_jobs(endpoint_name="sdk-batch"))
        assert name in [job.name for job in jobs], [job.name for job in jobs]
        return jobs

    steps.run("batch endpoint list_jobs", list_jobs, needs=("invoke with a local folder (upload)",))

    def cancel() -> Any:
        forget_sdk_deployment_header()
        job = ml_client.batch_endpoints.invoke(
            endpoint_name="sdk-batch", inputs={"input_data": Input(type=AssetTypes.URI_FOLDER, path="azureml:sdk-inputs:1")}
        )
        ml_client.jobs.begin_cancel(job.name).result()
        done = _wait_job(ml_client, job.name, timeout=60)
        assert done.status in ("Canceled", "Completed"), done.status
        return done

    steps.run("jobs cancel", cancel, needs=("batch endpoint get (default deployment)", "data asset create (local folder upload)"))
    steps.run("jobs list", lambda: list(ml_client.jobs.list()), needs=("invoke with a local folder (upload)",))
    steps.run(
        "batch deployment delete",
        lambda: ml_client.batch_deployments.begin_delete(name="main", endpoint_name="sdk-batch").result(),
        needs=("batch deployment create (local code upload)",),
    )
    steps.run("batch endpoint delete", lambda: ml_client.batch_endpoints.begin_delete(name="sdk-batch").result(),
              needs=("batch endpoint create",))


def run_online_lifecycle(ml_client: Any, files: dict[str, Path], steps: Steps) -> None:
    from azure.ai.ml.entities import CodeConfiguration, ManagedOnlineDeployment, ManagedOnlineEndpoint

    steps.run(
        "online endpoint create",
        lambda: ml_client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="sdk-online", auth_mode="key")
        ).result(),
    )
    model = steps.values.get("model create (local folder upload)")
    environment = steps.values.get("environment create")
    steps.run(
        "online deployment create",
        lambda: ml_client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name="sdk-online",
                model=model,
                environment=environment,
                code_configuration=CodeConfiguration(code=str(files["online_code"]), scoring_script="score.py"),
                instance_type="Standard_DS3_v2",
                instance_count=1,
            )
        ).result(),
        needs=("online endpoint create", "model create (local folder upload)", "environment create"),
    )
    steps.run("online deployment get", lambda: ml_client.online_deployments.get("blue", endpoint_name="sdk-online"),
              needs=("online deployment create",))
    steps.run("online deployment list", lambda: list(ml_client.online_deployments.list(endpoint_name="sdk-online")),
              needs=("online deployment create",))

    def route_traffic() -> Any:
        endpoint = ml_client.online_endpoints.get("sdk-online")
        endpoint.traffic = {"blue": 100}
        updated = ml_client.online_endpoints.begin_create_or_update(endpoint).result()
        assert ml_client.online_endpoints.get("sdk-online").traffic == {"blue": 100}
        return updated

    steps.run("online endpoint traffic", route_traffic, needs=("online deployment create",))

    def invoke() -> Any:
        forget_sdk_deployment_header()  # traffic (100 % blue) decides, not an earlier call's header
        answer = ml_client.online_endpoints.invoke(
            endpoint_name="sdk-online", request_file=str(files["request"])
        )
        assert "[2, 4, 6]" in answer.replace(" ", "").replace(",", ", "), answer
        return answer

    steps.run("online endpoint invoke", invoke, needs=("online endpoint traffic",))

    def keys() -> Any:
        credentials = ml_client.online_endpoints.get_keys("sdk-online")
        assert credentials.primary_key and credentials.secondary_key
        return credentials

    steps.run("online endpoint get_keys", keys, needs=("online endpoint create",))

    def logs() -> Any:
        text = ml_client.online_deployments.get_logs("blue", endpoint_name="sdk-online", lines=50)
        assert "online init done" in text, text
        return text

    steps.run("online deployment get_logs", logs, needs=("online endpoint invoke",))
    steps.run("online endpoint list", lambda: list(ml_client.online_endpoints.list()), needs=("online endpoint create",))
    steps.run("online endpoint delete", lambda: ml_client.online_endpoints.begin_delete(name="sdk-online").result(),
              needs=("online endpoint create",))


def _lifecycle(tmp_path: Path, spec: Path | None, label: str) -> Steps:
    steps = Steps()
    files = _files(tmp_path)
    with sdk_world(spec=spec) as world:
        ml_client = world.ml_client()
        run_batch_lifecycle(ml_client, files, steps)
        run_online_lifecycle(ml_client, files, steps)
    print(steps.report(label))
    return steps


@pytest.mark.slow
@pytest.mark.azurite
@pytest.mark.timeout(1200)  # about 4 minutes on 2 busy cores: 6 batch jobs, uploads, provisioning waits
def test_sdk_lifecycle_against_the_emulator(tmp_path: Path) -> None:
    steps = _lifecycle(tmp_path, None, "plain emulator")
    assert steps.passed == len(steps.results), steps.report("plain emulator")


@pytest.mark.slow
@pytest.mark.azurite
@pytest.mark.timeout(1200)
def test_sdk_lifecycle_against_the_emulator_with_spec(tmp_path: Path) -> None:
    if not REFERENCE.is_dir():
        pytest.skip(f"the REST spec is not here: {REFERENCE}")
    steps = _lifecycle(tmp_path, REFERENCE, "--spec")
    assert steps.passed == len(steps.results), steps.report("--spec")
