"""apply_overrides: dotted YAML names, command-line strings coerced and validated like YAML."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.specs import (
    BatchDeploymentSpec,
    OnlineEndpointSpec,
    SpecError,
    apply_overrides,
    load_spec,
    parse_assignments,
)

HEADER = "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"


@pytest.fixture
def deployment(write_yaml) -> BatchDeploymentSpec:
    spec = load_spec(
        write_yaml(HEADER + "name: d\nmodel: azureml:m:1\nsettings:\n  environment_variables: {KEEP: '1'}\n")
    )
    assert isinstance(spec, BatchDeploymentSpec)
    return spec


def test_command_line_strings_are_coerced(deployment: BatchDeploymentSpec) -> None:
    changed = apply_overrides(
        deployment,
        {
            "mini_batch_size": "5",
            "retry_settings.timeout": "60",
            "retry_settings.max_retries": "0",
            "error_threshold": "-1",
            "output_file_name": "out.csv",
            "output_action": "SummaryOnly",
            "logging_level": "DEBUG",
            "resources.instance_count": "3",
            "max_concurrency_per_instance": "4",
            "environment_variables.FOO": "bar",
        },
    )
    assert changed.mini_batch_size == 5
    assert (changed.retry_settings.timeout, changed.retry_settings.max_retries) == (60, 0)
    assert changed.error_threshold == -1 and changed.output_file_name == "out.csv"
    assert changed.output_action == "summary_only" and changed.logging_level == "debug"
    assert changed.instance_count == 3 and changed.max_concurrency_per_instance == 4
    assert changed.environment_variables == {"KEEP": "1", "FOO": "bar"}
    # The original is untouched (a new frozen object).
    assert deployment.mini_batch_size == 10 and deployment.environment_variables == {"KEEP": "1"}
    assert deployment.retry_settings.timeout == 30


def test_typed_values_and_aliases(deployment: BatchDeploymentSpec) -> None:
    changed = apply_overrides(
        deployment,
        {"instance_count": 2, "settings.mini_batch_size": "10MB", "retry_settings.timeout": "PT2M"},
    )
    assert (
        changed.instance_count == 2
        and changed.mini_batch_size == "10MB"
        and changed.retry_settings.timeout == 120
    )
    assert apply_overrides(deployment, {}) == deployment


def test_bad_values_are_reported_like_yaml(deployment: BatchDeploymentSpec) -> None:
    with pytest.raises(SpecError) as info:
        apply_overrides(
            deployment, {"mini_batch_size": "ten", "retry_settings.timeout": "0", "output_action": "x"}
        )
    lines = str(info.value).splitlines()
    assert lines == [
        'overrides: mini_batch_size: expected a positive integer or a size like "10MB", found "ten"',
        'overrides: retry_settings.timeout: expected a positive number of seconds (or ISO 8601 like "PT30S"), found "0"',
        'overrides: output_action: expected one of append_row, summary_only, found "x"',
    ]


def test_unknown_key_lists_valid_keys(deployment: BatchDeploymentSpec) -> None:
    with pytest.raises(SpecError) as info:
        apply_overrides(deployment, {"mini_batch": "5"})
    [problem] = info.value.problems
    assert problem.path == "mini_batch"
    assert "unknown setting 'mini_batch'" in problem.message
    for key in ("mini_batch_size", "retry_settings.timeout", "environment_variables.NAME", "error_threshold"):
        assert key in problem.message


def test_online_endpoint_traffic(write_yaml) -> None:
    endpoint = load_spec(write_yaml("name: ep1\ntype: online\ntraffic: {blue: 100, green: 0}\n", name="e.yml"))
    assert isinstance(endpoint, OnlineEndpointSpec)
    flipped = apply_overrides(endpoint, {"traffic.blue": "0", "traffic.green": "100"})
    assert flipped.traffic == {"blue": 0, "green": 100}
    with pytest.raises(SpecError) as info:
        apply_overrides(endpoint, {"traffic.green": "10"})
    assert "sum to 100, found 110" in str(info.value)


def test_parse_assignments() -> None:
    assert parse_assignments(["mini_batch_size=5", "environment_variables.X=a=b"]) == {
        "mini_batch_size": "5",
        "environment_variables.X": "a=b",
    }
    with pytest.raises(SpecError) as info:
        parse_assignments(["oops"])
    assert "expected KEY=VALUE" in str(info.value)
