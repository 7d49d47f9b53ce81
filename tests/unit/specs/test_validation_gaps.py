"""What ``validate`` must refuse before any work starts (issue 9 point 10).

Scoring scripts outside their code folder, code folders that would upload a
whole disk or home, reserved and over-long output names, numbers past sane
bounds, sub-second durations and names Azure rejects: each is one clear
problem naming the file and the field. Relative code folders that climb
(``../../model-1/onlinescoring/``, as a third of Microsoft's examples do)
stay valid.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.engine.layout import STATE_DIR
from airflow_provider_mlendpoints.specs import SpecError, apply_overrides, load_spec, parse_assignments
from airflow_provider_mlendpoints.specs.coerce import RESERVED_FILE_NAMES
from airflow_provider_mlendpoints.specs.validate_cli import run_validate

from .conftest import BATCH_DEPLOYMENT_SCHEMA

ONLINE_DEPLOYMENT_SCHEMA = "https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json"


def deployment(code: str = "./src", script: str = "score.py", settings: str = "", name: str = "scorer") -> str:
    return (
        f"$schema: {BATCH_DEPLOYMENT_SCHEMA}\nname: {name}\nendpoint_name: my-endpoint\nmodel: azureml:m:1\n"
        f"code_configuration:\n  code: {code}\n  scoring_script: {script}\n"
        "settings:\n" + ("" if "mini_batch_size" in settings else "  mini_batch_size: 1\n") + settings
    )


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    return [str(p) for p in raised.value.problems]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A code folder ``src`` with a scoring script, next to a secret outside it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text("def init(): pass\ndef run(b): return b\n")
    (tmp_path / "secret.py").write_text("KEY = 1\n")
    return tmp_path


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ("/etc/passwd", "expected a path relative to the code folder, found the absolute path '/etc/passwd'"),
        ("../../../../etc/passwd", "'../../../../etc/passwd' points outside the code folder (through '..')"),
        ("../secret.py", "'../secret.py' points outside the code folder (through '..')"),
        ("sub/../../secret.py", "'sub/../../secret.py' points outside the code folder (through '..')"),
        ("~/score.py", "expected a path relative to the code folder, found the absolute path '~/score.py'"),
    ],
)
def test_scoring_script_outside_the_code_folder_is_refused(
    folder: Path, write_yaml: Callable[..., Path], script: str, why: str
) -> None:
    path = write_yaml(deployment(script=script))
    assert problems(path) == [f"{path}: code_configuration.scoring_script: {why}"]


def test_scoring_script_through_a_symlink_out_is_refused(folder: Path, write_yaml: Callable[..., Path]) -> None:
    os.symlink(folder / "secret.py", folder / "src" / "link.py")
    path = write_yaml(deployment(script="link.py"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}: code_configuration.scoring_script: 'link.py' points outside the code folder")
    assert "symbolic link" in problem


def test_scripts_inside_the_code_folder_stay_valid(folder: Path, write_yaml: Callable[..., Path]) -> None:
    (folder / "src" / "pkg").mkdir()
    (folder / "src" / "pkg" / "s.py").write_text("")
    for script in ("score.py", "./score.py", "pkg/s.py", "pkg/../score.py"):
        assert load_spec(write_yaml(deployment(script=script))).code.scoring_script == script


def test_climbing_relative_code_folders_stay_valid(tmp_path: Path, write_yaml: Callable[..., Path]) -> None:
    code = tmp_path / "model-1" / "onlinescoring"
    code.mkdir(parents=True)
    (code / "score.py").write_text("")
    path = write_yaml(deployment(code="../../model-1/onlinescoring/"), name="a/b/deployment.yml")
    assert load_spec(path).code.path == str(code)


@pytest.mark.parametrize("code", ["/", "~/", "'~'", "/root", "/home/someone", "/home"])
def test_code_folder_that_is_a_root_or_a_home_is_refused(write_yaml: Callable[..., Path], code: str) -> None:
    path = write_yaml(deployment(code=code))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}: code_configuration.code: ")
    assert "is the file system root or a home folder" in problem


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("_mlendpoints", "'_mlendpoints' is reserved for the engine's own files; choose another name"),
        ("_MLENDPOINTS", "'_MLENDPOINTS' is reserved for the engine's own files; choose another name"),
        ("x" * 300, "expected a file name of at most 255 bytes, found 300"),
    ],
)
def test_reserved_and_over_long_output_file_names_are_refused(
    write_yaml: Callable[..., Path], name: str, why: str
) -> None:
    path = write_yaml(deployment(code="azureml:c:1", settings=f"  output_file_name: {name}\n"))
    assert problems(path) == [f"{path}: settings.output_file_name: {why}"]


def test_the_reserved_name_is_the_engines_state_folder() -> None:
    assert STATE_DIR in RESERVED_FILE_NAMES


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("  retry_settings:\n    timeout: " + "9" * 400 + "\n", "settings.retry_settings.timeout: expected a positive"),
        ("  max_concurrency_per_instance: 100000\n", "settings.max_concurrency_per_instance: expected a positive integer of at most 1000"),
        ("  mini_batch_size: 99999999999\n", "settings.mini_batch_size: expected a positive integer or a size"),
        ("  error_threshold: 99999999999\n", "settings.error_threshold: expected an integer >= -1"),
        ("  retry_settings:\n    max_retries: 99999999999\n", "settings.retry_settings.max_retries: expected a non-negative integer of at most 2147483647"),
        ("  retry_settings:\n    timeout: PT0.4S\n", "settings.retry_settings.timeout: expected at least 1 second, found 'PT0.4S' (sub-second durations are not supported)"),
        ("  retry_settings:\n    timeout: 0.4\n", "settings.retry_settings.timeout: expected at least 1 second, found 0.4"),
        ("  retry_settings:\n    timeout: P30D\n", "settings.retry_settings.timeout: expected a positive number of seconds"),
    ],
)  # fmt: skip
def test_numbers_past_sane_bounds_are_refused(write_yaml: Callable[..., Path], setting: str, expected: str) -> None:
    path = write_yaml(deployment(code="azureml:c:1", settings=setting))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}: {expected}"), problem
    assert len(problem) < 300  # a 400-digit number is shown shortened


def test_overrides_get_the_same_bounds(folder: Path, write_yaml: Callable[..., Path]) -> None:
    spec = load_spec(write_yaml(deployment()))
    for assignment in ("max_concurrency_per_instance=100000", "retry_settings.timeout=PT0.4S", "output_file_name=_mlendpoints"):
        with pytest.raises(SpecError):
            apply_overrides(spec, parse_assignments([assignment]))


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 33, "1endpoint", "my_endpoint", "ends-with-", "has space", "ünï"],
)
def test_endpoint_names_azure_rejects_are_refused(write_yaml: Callable[..., Path], name: str) -> None:
    path = write_yaml(f"name: '{name}'\nauth_mode: aad_token\n", name="endpoint.yml")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}: name: expected an endpoint name of 3-32 letters, digits and hyphens")


@pytest.mark.parametrize("name", ["abc", "a" * 32, "My-Endpoint-2", "{{ENDPOINT_NAME}}", "<endpoint_name>"])
def test_endpoint_names_azure_accepts_stay_valid(write_yaml: Callable[..., Path], name: str) -> None:
    path = write_yaml(f"name: '{name}'\nauth_mode: aad_token\n", name="endpoint.yml")
    assert load_spec(path).name == name


def test_deployment_names_follow_the_rest_rule(write_yaml: Callable[..., Path]) -> None:
    for ok in ("regular_deployment", "1blue", "b"):  # Microsoft's examples use underscores
        online = f"$schema: {ONLINE_DEPLOYMENT_SCHEMA}\nname: {ok}\nendpoint_name: my-endpoint\nmodel: azureml:m:1\n"
        assert load_spec(write_yaml(online)).name == ok
    for bad in ("-blue", "blue green", "x" * 256):
        path = write_yaml(deployment(code="azureml:c:1", name=f"'{bad}'"))
        (problem,) = problems(path)
        assert problem.startswith(f"{path}: name: expected a deployment name of up to 255 letters")


def test_endpoint_name_in_a_deployment_is_checked(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(deployment(code="azureml:c:1").replace("endpoint_name: my-endpoint", "endpoint_name: e_p"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}: endpoint_name: expected an endpoint name")


def test_validate_reports_each_gap_without_a_traceback(folder: Path, write_yaml: Callable[..., Path]) -> None:
    files = [
        write_yaml(deployment(script="/etc/passwd"), name="abs.yml"),
        write_yaml(deployment(code="/"), name="root.yml"),
        write_yaml(deployment(settings="  output_file_name: _mlendpoints\n"), name="reserved.yml"),
        write_yaml(deployment(settings="  retry_settings:\n    timeout: " + "9" * 400 + "\n"), name="digits.yml"),
        write_yaml(deployment(settings="  retry_settings:\n    timeout: PT0.4S\n"), name="subsecond.yml"),
    ]
    out = io.StringIO()
    assert run_validate([str(f) for f in files], out) == 1
    lines = out.getvalue().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [str(f) for f in files]
    assert not [line for line in lines if "internal error" in line or ": ok: " in line]
