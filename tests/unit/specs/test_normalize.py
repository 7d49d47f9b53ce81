"""Azure's defaults, enum normalization, relative paths, placeholders and local path checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_mlendpoints.specs import (
    BatchDeploymentSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    SpecError,
    check_paths,
    load_spec,
    load_specs,
)
from airflow_provider_mlendpoints.specs.coerce import iso_duration, seconds, size_in_bytes
from airflow_provider_mlendpoints.specs.yamlio import quote_placeholders

HEADER = "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"


def test_batch_defaults(write_yaml) -> None:
    spec = load_spec(write_yaml(HEADER + "name: d\nmodel: azureml:m:1\n"))
    assert isinstance(spec, BatchDeploymentSpec)
    assert spec.mini_batch_size == 10
    assert spec.max_concurrency_per_instance == 1
    assert spec.instance_count == 1
    assert spec.error_threshold == -1
    assert (spec.retry_settings.max_retries, spec.retry_settings.timeout) == (3, 30)
    assert spec.output_action == "append_row"
    assert spec.output_file_name == "predictions.csv"
    assert spec.logging_level == "info"
    assert spec.environment_variables == {}
    assert spec.code is None and spec.compute is None


@pytest.mark.parametrize(
    ("written", "action", "level"),
    [
        ("AppendRow", "append_row", "info"),
        ("summary_only", "summary_only", "Warning"),
        ("SummaryOnly", "summary_only", "DEBUG"),
    ],
)
def test_enum_normalization(write_yaml, written: str, action: str, level: str) -> None:
    spec = load_spec(
        write_yaml(
            HEADER
            + f"name: d\nmodel: azureml:m:1\nsettings:\n  output_action: {written}\n  logging_level: {level}\n"
        )
    )
    assert spec.output_action == action and spec.logging_level == level.lower()


@pytest.mark.parametrize(
    ("written", "mode"), [("Key", "key"), ("AMLToken", "aml_token"), ("aad_token", "aad_token")]
)
def test_auth_mode_normalization(write_yaml, written: str, mode: str) -> None:
    spec = load_spec(write_yaml(f"name: ep1\ntype: online\nauth_mode: {written}\n", name="e.yml"))
    assert isinstance(spec, OnlineEndpointSpec) and spec.auth_mode == mode


def test_mini_batch_size_as_size_and_iso_timeout(write_yaml) -> None:
    spec = load_spec(
        write_yaml(
            HEADER
            + "name: d\nmodel: azureml:m:1\nsettings:\n  mini_batch_size: 10MB\n  retry_settings: {timeout: PT1M}\n"
        )
    )
    assert spec.mini_batch_size == "10MB" and spec.retry_settings.timeout == 60
    assert size_in_bytes("100KB") == 100_000 and size_in_bytes("1MiB") == 2**20 and size_in_bytes(5) == 5
    assert seconds("PT1H30S") == 3630 and seconds("45") == 45
    assert iso_duration(30) == "PT30S" and iso_duration(0.5) == "PT0.5S"


def test_relative_paths_resolve_against_the_file_folder(write_yaml, tmp_path: Path) -> None:
    path = write_yaml(
        HEADER
        + "name: d\nmodel: {path: ../models/m}\ncode_configuration: {code: {local_path: ./src/}, scoring_script: s.py}\n"
        + "environment: {image: img, conda_file: 'file:env/conda.yml'}\n",
        name="sub/deployment.yml",
    )
    spec = load_spec(path)
    assert spec.model.path == str(tmp_path / "models" / "m")
    assert spec.code.path == str(tmp_path / "sub" / "src")
    assert spec.environment.conda_file == str(tmp_path / "sub" / "env" / "conda.yml")
    from_dict = load_spec({"name": "d", "model": {"path": "m"}}, kind=BatchDeploymentSpec, base_dir=tmp_path)
    assert from_dict.model.path == str(tmp_path / "m")


def test_check_paths_and_require_local_paths(write_yaml, tmp_path: Path) -> None:
    path = write_yaml(
        HEADER + "name: d\nmodel: {path: model}\ncode_configuration: {code: src, scoring_script: score.py}\n"
    )
    spec = load_spec(path)  # paths need not exist to load
    problems = check_paths(spec)
    assert [p.path for p in problems] == ["model.path", "code_configuration.code"]
    assert str(tmp_path / "model") in str(problems[0]) and "does not exist" in str(problems[0])
    with pytest.raises(SpecError) as info:
        load_spec(path, require_local_paths=True)
    assert len(info.value.problems) == 2
    (tmp_path / "model").mkdir()
    (tmp_path / "src").mkdir()
    assert [p.path for p in check_paths(spec)] == ["code_configuration.scoring_script"]
    (tmp_path / "src" / "score.py").write_text("def init(): pass\n")
    assert check_paths(spec) == []
    assert load_spec(path, require_local_paths=True) == spec


def test_placeholders_are_kept_verbatim(write_yaml) -> None:
    text = 'name: {{NAME}} \nendpoint_name: {{E}}-x # comment\nitems:\n  - {{A}}\nq: "{{B}}"\nurl: {{R}}.io/x:1\n'
    quoted = quote_placeholders(text)
    assert quoted.splitlines() == [
        "name: '{{NAME}}'",
        "endpoint_name: '{{E}}-x' # comment",
        "items:",
        "  - '{{A}}'",
        'q: "{{B}}"',
        "url: '{{R}}.io/x:1'",
    ]
    spec = load_spec(
        write_yaml(
            "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n"
            "name: {{DEPLOYMENT}}\nendpoint_name: {{ENDPOINT}}\nenvironment:\n  image: {{ACR}}.azurecr.io/img:1\n"
        )
    )
    assert isinstance(spec, OnlineDeploymentSpec)
    assert (spec.name, spec.endpoint_name, spec.environment.image) == (
        "{{DEPLOYMENT}}",
        "{{ENDPOINT}}",
        "{{ACR}}.azurecr.io/img:1",
    )


def test_dates_and_numbers_stay_strings(write_yaml) -> None:
    spec = load_spec(
        write_yaml(
            HEADER
            + "name: d\nmodel: azureml:m:1\nsettings:\n  environment_variables: {V: 2023-03-15, N: 5, B: true, E: }\n"
        )
    )
    assert spec.environment_variables == {"V": "2023-03-15", "N": "5", "B": "true", "E": ""}


def test_content_detection_without_schema(write_yaml) -> None:
    assert isinstance(
        load_spec(write_yaml("name: d\nmodel: {path: m}\nmini_batch_size: 3\n")), BatchDeploymentSpec
    )
    assert isinstance(
        load_spec(write_yaml("name: d\nmodel: {path: m}\ninstance_type: Standard_DS3_v2\n")),
        OnlineDeploymentSpec,
    )
    assert isinstance(
        load_spec(write_yaml("name: d\nmodel: {path: m}\ncompute: azureml:c\n")), BatchDeploymentSpec
    )
    assert type(load_spec(write_yaml("name: ep1\nauth_mode: aad_token\n"))).__name__ == "BatchEndpointSpec"
    assert isinstance(load_spec(write_yaml("name: ep1\ntraffic: {blue: 100}\n")), OnlineEndpointSpec)


def test_forced_kinds_by_azure_schema_name(write_yaml) -> None:
    path = write_yaml("name: d\nmodel: {path: m}\n")
    assert isinstance(load_spec(path, kind="modelBatchDeployment"), BatchDeploymentSpec)
    k8s = load_spec(path, kind="kubernetesOnlineDeployment")
    assert isinstance(k8s, OnlineDeploymentSpec) and k8s.endpoint_compute_type == "kubernetes"


def test_multi_document_files(write_yaml) -> None:
    path = write_yaml("name: ep1\ntype: online\n---\nname: d\nmodel: {path: m}\ninstance_count: 2\n")
    endpoint, deployment = load_specs(path)
    assert isinstance(endpoint, OnlineEndpointSpec) and isinstance(deployment, OnlineDeploymentSpec)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "expected one YAML document, found 2" in str(info.value)
    bad = write_yaml(
        "name: ep1\ntype: online\n---\nname: d\nmodel: {path: m}\ninstance_count: -1\n", name="multi.yml"
    )
    with pytest.raises(SpecError) as info:
        load_specs(bad)
    assert str(info.value).startswith(f"{bad} (document 2): instance_count:")


def test_specs_are_frozen(write_yaml) -> None:
    spec = load_spec(write_yaml(HEADER + "name: d\nmodel: azureml:m:1\n"))
    with pytest.raises(AttributeError):
        spec.mini_batch_size = 3  # type: ignore[misc]


def test_import_has_no_airflow_and_no_jsonschema() -> None:
    import subprocess
    import sys

    code = (
        "import sys, airflow_provider_mlendpoints.specs as s; "
        "assert 'airflow' not in sys.modules, 'airflow imported'; "
        "assert 'jsonschema' not in sys.modules, 'jsonschema imported eagerly'; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr
