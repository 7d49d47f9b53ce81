"""``mlendpoints validate FILE...`` run as a real process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import CORPUS


def run_validate(repo_root: Path, *files: str | Path) -> subprocess.CompletedProcess[str]:
    exe = repo_root / ".venv" / "bin" / "mlendpoints"
    if not exe.exists():
        pytest.skip("the mlendpoints console script is not installed in .venv")
    return subprocess.run(
        [str(exe), "validate", *map(str, files)], capture_output=True, text=True, timeout=60, check=False
    )


def test_valid_files_exit_0_with_ok_lines(repo_root: Path, write_yaml) -> None:
    deployment = write_yaml(
        "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"
        "name: scorer\nmodel: azureml:m:1\n"
    )
    endpoint = write_yaml("name: ep1\ntype: online\ntraffic: {blue: 100}\n", name="endpoint.yml")
    result = run_validate(repo_root, deployment, endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f'{deployment}: ok: batch_deployment "scorer"',
        f'{endpoint}: ok: online_endpoint (managed) "ep1"',
    ]
    assert result.stderr == ""


def test_problems_exit_1_one_line_each(repo_root: Path, write_yaml, tmp_path: Path) -> None:
    good = write_yaml("name: ep1\nauth_mode: aad_token\n", name="good.yml")
    bad = write_yaml(
        "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"
        "name: d\nmodel: azureml:m:1\nsettings:\n  mini_batch_size: ten\n  logging_level: loud\n",
        name="bad.yml",
    )
    broken = write_yaml("name: [\n", name="broken.yml")
    missing = tmp_path / "missing.yml"
    result = run_validate(repo_root, good, bad, broken, missing, tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f'{good}: ok: batch_endpoint "ep1"'
    assert (
        lines[1]
        == f'{bad}: settings.mini_batch_size: expected a positive integer or a size like "10MB", found "ten"'
    )
    assert lines[2] == f'{bad}: settings.logging_level: expected one of warning, info, debug, found "loud"'
    assert lines[3].startswith(f"{broken}: YAML syntax error at line 2")
    assert lines[4] == f"{missing}: no such file"
    assert lines[5] == f"{tmp_path}: is a directory, expected a YAML file"
    assert len(lines) == 6
    assert "Traceback" not in result.stdout + result.stderr


def test_the_whole_corpus_validates(repo_root: Path, corpus: Path) -> None:
    result = run_validate(repo_root, *CORPUS)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == len(CORPUS)
    assert all(": ok: " in line for line in lines)
    assert any(
        'online_endpoint (managed) "my-endpoint" with deployments blue, green' in line for line in lines
    )
    assert any('online_endpoint (kubernetes) "my-endpoint"' in line for line in lines)
