"""Bad input gives a SpecError listing every problem with file, field path, expected and found."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_mlendpoints.specs import Problem, SpecError, load_spec

HEADER = "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"


def problems_of(path_or_dict, **kwargs) -> list[Problem]:
    with pytest.raises(SpecError) as info:
        load_spec(path_or_dict, **kwargs)
    assert isinstance(info.value, ValueError)
    return info.value.problems


def by_path(problems: list[Problem]) -> dict[str, Problem]:
    return {p.path: p for p in problems}


def test_message_format_names_file_path_expected_found(write_yaml) -> None:
    path = write_yaml(HEADER + "name: d\nmodel: azureml:m:1\nsettings:\n  mini_batch_size: ten\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    [problem] = info.value.problems
    assert problem == Problem(
        str(path), "settings.mini_batch_size", 'a positive integer or a size like "10MB"', '"ten"', None
    )
    assert str(info.value) == (
        f'{path}: settings.mini_batch_size: expected a positive integer or a size like "10MB", found "ten"'
    )


def test_all_problems_in_a_file_are_collected(write_yaml) -> None:
    path = write_yaml(
        HEADER
        + """
        endpoint_name: ep1
        colour: red
        model: azureml:m:1
        code_configuration:
          code: code
        resources:
          instance_count: -2
        settings:
          mini_batch_size: 0
          max_concurrency_per_instance: two
          output_action: append
          logging_level: LOUD
          error_threshold: -5
          retry_settings:
            max_retries: -1
            timeout: abc
        """.replace("\n        ", "\n")
    )
    found = by_path(problems_of(path))
    assert found["name"].message == "required field is missing"
    assert "unknown top-level field 'colour'" in found["colour"].message
    assert "known fields:" in found["colour"].message and "mini_batch_size" in found["colour"].message
    assert found["code_configuration.scoring_script"].message == "required field is missing"
    assert (found["resources.instance_count"].expected, found["resources.instance_count"].found) == (
        "a positive integer",
        "-2",
    )
    assert found["settings.mini_batch_size"].found == "0"
    assert found["settings.max_concurrency_per_instance"].found == '"two"'
    assert found["settings.output_action"].expected == "one of append_row, summary_only"
    assert found["settings.logging_level"].found == '"LOUD"'
    assert found["settings.error_threshold"].expected.startswith("an integer >= -1")
    assert found["settings.retry_settings.max_retries"].expected == "a non-negative integer"
    assert found["settings.retry_settings.timeout"].found == '"abc"'
    assert all(p.file == str(path) for p in found.values())
    assert len(found) == 11


def test_root_settings_problems_point_at_the_root_field(write_yaml) -> None:
    path = write_yaml(
        HEADER + "name: d\nmodel: {path: m}\nmini_batch_size: 10XB\nretry_settings: {timeout: 0}\n"
    )
    found = by_path(problems_of(path))
    assert set(found) == {"mini_batch_size", "retry_settings.timeout"}


def test_setting_both_at_root_and_in_settings(write_yaml) -> None:
    path = write_yaml(
        HEADER + "name: d\nmodel: {path: m}\nmini_batch_size: 3\nsettings: {mini_batch_size: 4}\n"
    )
    [problem] = problems_of(path)
    assert problem.path == "mini_batch_size" and "settings.mini_batch_size" in problem.message


def test_yaml_syntax_error_has_line_number(write_yaml) -> None:
    path = write_yaml("name: d\nmodel:\n  path: [unclosed\nsettings: {}\n")
    [problem] = problems_of(path)
    assert problem.path == ""
    assert "YAML syntax error at line" in problem.message
    assert str(problem).startswith(f"{path}: YAML syntax error at line 4")


def test_unknown_kind_from_schema(write_yaml) -> None:
    path = write_yaml(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\nname: x\n"
    )
    [problem] = problems_of(path)
    assert problem.path == "$schema" and "unknown kind 'commandjob'" in problem.message


def test_unknown_kind_from_content_and_forced_kind(write_yaml) -> None:
    path = write_yaml("name: xyz\n")
    [problem] = problems_of(path)
    assert "unknown kind" in problem.message and "$schema" in problem.message
    assert load_spec(path, kind="batch_endpoint").name == "xyz"
    [bad] = problems_of(path, kind="job")
    assert "unknown kind 'job'" in bad.message


def test_not_a_mapping_and_empty_file(write_yaml) -> None:
    [problem] = problems_of(write_yaml("- a\n- b\n"))
    assert problem.expected == "a mapping of fields" and problem.found == "a list"
    [empty] = problems_of(write_yaml("# nothing\n", name="empty.yml"))
    assert empty.message == "the file is empty"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    [missing] = problems_of(tmp_path / "nope.yml")
    assert missing.message == "no such file"
    [folder] = problems_of(tmp_path)
    assert "is a directory" in folder.message


def test_wrong_types(write_yaml) -> None:
    path = write_yaml(
        HEADER + "name: d\nmodel: 5\ntags: [a]\nenvironment: 3\nresources: 2\ncompute: {name: c}\n"
    )
    found = by_path(problems_of(path))
    assert (
        found["model"].expected == "a model reference, a local path or a mapping"
        and found["model"].found == "5"
    )
    assert found["tags"].expected == "a mapping" and found["tags"].found == "a list"
    assert found["environment"].found == "3"
    assert found["resources"].expected == "a mapping"
    assert found["compute"].found == "a mapping"


def test_bad_references(write_yaml) -> None:
    path = write_yaml(HEADER + "name: d\nmodel: 'azureml:a:b:c'\ncompute: 'azureml:c:1'\n")
    found = by_path(problems_of(path))
    assert found["model"].found == '"azureml:a:b:c"' and "azureml:name:1" in found["model"].expected
    assert "no version" in found["compute"].expected


def test_online_traffic_must_sum_to_100(write_yaml) -> None:
    path = write_yaml(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n"
        "name: ep1\nauth_mode: token\ntraffic: {blue: 60, green: 30}\n",
        name="endpoint.yml",
    )
    found = by_path(problems_of(path))
    assert found["traffic"].message == "percentages must sum to 100, found 90"
    assert found["auth_mode"].expected == "one of key, aml_token, aad_token"


def test_traffic_names_inline_deployments(write_yaml) -> None:
    path = write_yaml(
        """
        $schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
        name: ep1
        traffic: {blue: 100}
        deployments:
          - name: green
            model: {path: m}
            instance_count: 0
          - model: {path: m}
        """,
        name="endpoint.yml",
    )
    found = by_path(problems_of(path))
    assert "no deployment named 'blue'" in found["traffic.blue"].message
    assert found["deployments[0].instance_count"].found == "0"
    assert found["deployments[1].name"].message == "required field is missing"


def test_online_deployment_problems(write_yaml) -> None:
    path = write_yaml(
        """
        $schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
        name: blue
        code_configuration: {code: src}
        request_settings: {request_timeout_ms: -1}
        egress_public_network_access: maybe
        scale_settings: {type: sometimes}
        app_insights_enabled: perhaps
        """,
        name="blue.yml",
    )
    found = by_path(problems_of(path))
    assert "give a model, an environment or both" in found["model"].message
    assert found["code_configuration.scoring_script"].message == "required field is missing"
    assert found["request_settings.request_timeout_ms"].expected == "a non-negative integer"
    assert found["egress_public_network_access"].expected == "enabled or disabled"
    assert found["scale_settings.type"].expected == "one of default, target_utilization"
    assert found["app_insights_enabled"].expected == "true or false"


def test_batch_endpoint_rejects_key_auth(write_yaml) -> None:
    path = write_yaml(
        "$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\nname: bep\nauth_mode: key\n",
        name="endpoint.yml",
    )
    [problem] = problems_of(path)
    assert problem.path == "auth_mode" and problem.expected.startswith("aad_token")


def test_dict_input_names_the_given_file_label() -> None:
    problems = problems_of(
        {"name": "d", "model": {"path": "m"}, "mini_batch_size": -1},
        kind="batch_deployment",
        file="inline.yml",
    )
    assert [str(p) for p in problems] == [
        'inline.yml: mini_batch_size: expected a positive integer or a size like "10MB", found -1'
    ]


def test_pipeline_deployments_are_refused(write_yaml) -> None:
    path = write_yaml(HEADER + "name: d\ntype: pipeline\nmodel: {path: m}\n")
    [problem] = problems_of(path)
    assert problem.path == "type" and "pipeline" in problem.expected


def test_duplicate_keys_are_reported_with_the_other_problems(write_yaml) -> None:
    path = write_yaml(HEADER + "name: d\nmodel: azureml:m:1\nname: e\nsettings:\n  mini_batch_size: 0\n")
    found = by_path(problems_of(path))
    assert found["name"].message.startswith("given twice (again at line 4)")
    assert found["settings.mini_batch_size"].found == "0"
