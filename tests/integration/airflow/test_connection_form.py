"""The ``azure_ml_endpoints`` connection form: declared in the provider info, read by Airflow's
own ProvidersManager, and the hook reads connections from the form and from the old Extra JSON."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_mlendpoints import connection_form
from airflow_provider_mlendpoints.get_provider_info import get_provider_info

CONN_TYPE = "azure_ml_endpoints"
FORM_FIELDS = {
    "subscription_id": "Subscription ID",
    "resource_group": "Resource Group",
    "workspace_name": "Workspace Name",
    "auth_type": "Authentication",
    "tenant_id": "Tenant ID",
    "token": "Static Bearer Token",
    "managed_identity_client_id": "Managed Identity Client ID",
    "workload_identity_tenant_id": "Workload Identity Tenant ID",
    "data_plane_url": "Data Plane URL Override",
    "verbose_http": "Verbose HTTP Logging",
}


def _airflow_schema(name: str) -> dict:
    import airflow

    return json.loads((Path(airflow.__file__).parent / name).read_text())


def test_provider_info_validates_against_airflows_schemas():
    import jsonschema

    info = get_provider_info()
    # what ProvidersManager validates every provider's info with at runtime
    jsonschema.validate(info, _airflow_schema("provider_info.schema.json"))
    # the stricter provider.yaml schema describes conn-fields and ui-field-behaviour in full
    yaml_schema = _airflow_schema("provider.yaml.schema.json")
    jsonschema.validate(info["connection-types"], yaml_schema["properties"]["connection-types"])
    (entry,) = info["connection-types"]
    assert entry["hook-name"] == "Azure ML Endpoints"
    assert entry["connection-type"] == CONN_TYPE
    for name, label in FORM_FIELDS.items():
        assert entry["conn-fields"][name]["label"] == label
    assert entry["conn-fields"]["token"]["schema"]["format"] == "password"
    assert set(entry["conn-fields"]["auth_type"]["schema"]["enum"]) >= set(connection_form.AUTH_TYPES)
    assert entry["ui-field-behaviour"]["relabeling"]["login"] == "Client ID (service principal)"
    assert entry["ui-field-behaviour"]["relabeling"]["password"] == "Client Secret (service principal)"
    assert "extra" in entry["ui-field-behaviour"]["hidden-fields"]


def test_providers_manager_builds_the_form_without_wtforms(airflow_db):
    """The form as the UI's /ui/connections/hook_meta sees it, read by a fresh interpreter."""
    code = """
import json
from airflow.providers_manager import ProvidersManager
pm = ProvidersManager()
widgets = {k: {"label": v.field["schema"].get("title"), "sensitive": v.is_sensitive}
           for k, v in pm.connection_form_widgets.items() if k.startswith("extra__azure_ml_endpoints__")}
print(json.dumps({"name": pm.hooks["azure_ml_endpoints"].hook_name if pm.hooks.get("azure_ml_endpoints") else None,
                  "behaviour": pm.field_behaviours.get("azure_ml_endpoints"), "widgets": widgets}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["name"] == "Azure ML Endpoints"
    widgets = seen["widgets"]
    for name, label in FORM_FIELDS.items():
        assert widgets[f"extra__{CONN_TYPE}__{name}"]["label"] == label
    assert widgets[f"extra__{CONN_TYPE}__token"]["sensitive"] is True
    assert widgets[f"extra__{CONN_TYPE}__subscription_id"]["sensitive"] is False
    behaviour = seen["behaviour"]
    assert behaviour["relabeling"]["host"].startswith("Management URL")
    assert set(behaviour["hidden_fields"]) == {"schema", "port", "extra"}
    # placeholders of extra fields are keyed by their prefixed widget names
    assert behaviour["placeholders"][f"extra__{CONN_TYPE}__resource_group"] == "my-resource-group"


def _hook_for(monkeypatch, conn: dict):
    from airflow_provider_mlendpoints.hooks.ml_endpoints import MLEndpointsHook

    monkeypatch.setenv("AIRFLOW_CONN_MLE_FORM_TEST", json.dumps({"conn_type": CONN_TYPE, **conn}))
    return MLEndpointsHook("mle_form_test")


WORKSPACE = {"subscription_id": "sub-1", "resource_group": "rg-1", "workspace_name": "ws-1"}


def test_hook_reads_a_connection_saved_by_the_form(monkeypatch):
    """The new form stores plain extra keys, JSON booleans, and empty optional fields as "" or null."""
    hook = _hook_for(
        monkeypatch,
        {
            "host": "http://127.0.0.1:8910",
            "login": "app-id",
            "password": "app-secret",
            "extra": {
                **WORKSPACE,
                "auth_type": "service_principal",
                "tenant_id": "tenant-1",
                "token": "",
                "storage_urls": "",
                "data_plane_url": None,
                "api_version": None,
                "allow_insecure_http": True,
                "verbose_http": True,
            },
        },
    )
    config = hook.get_config()
    assert (config.subscription_id, config.resource_group, config.workspace_name) == ("sub-1", "rg-1", "ws-1")
    assert config.management_url == "http://127.0.0.1:8910"
    assert config.storage_urls == {}
    assert config.data_plane_url is None
    assert config.allow_insecure_http is True
    assert config.verbose_http is True
    assert hook.auth_type() == "service_principal"
    args = hook._credential_args()
    assert (args["tenant_id"], args["client_id"], args["client_secret"]) == ("tenant-1", "app-id", "app-secret")


def test_hook_still_reads_the_old_prefixed_extra_json(monkeypatch):
    hook = _hook_for(
        monkeypatch,
        {
            "extra": {
                f"extra__{CONN_TYPE}__subscription_id": "sub-2",
                f"extra__{CONN_TYPE}__resource_group": "rg-2",
                f"extra__{CONN_TYPE}__workspace_name": "ws-2",
                f"extra__{CONN_TYPE}__token": "old-token",
                f"extra__{CONN_TYPE}__verbose_http": "false",
                "storage_urls": json.dumps({"acct": "http://127.0.0.1:10000/acct"}),
            }
        },
    )
    config = hook.get_config()
    assert (config.subscription_id, config.workspace_name) == ("sub-2", "ws-2")
    assert config.storage_urls == {"acct": "http://127.0.0.1:10000/acct"}
    assert config.verbose_http is False
    assert hook.auth_type() == "token"


def test_hook_rejects_an_unknown_auth_type_naming_the_choices(monkeypatch):
    hook = _hook_for(monkeypatch, {"extra": {**WORKSPACE, "auth_type": "kerberos"}})
    with pytest.raises(ValueError, match="auth_type must be one of default, service_principal"):
        hook.auth_type()


def test_connection_test_against_the_emulator_with_verbose_http(monkeypatch, emulator, caplog):
    """``test_connection`` (what `airflow connections test` and the UI's Test button call)
    lists the workspace's endpoints; verbose_http logs one line per request, never the token."""
    hook = _hook_for(
        monkeypatch,
        {
            "host": emulator.base_url,
            "extra": {
                "subscription_id": emulator.subscription,
                "resource_group": emulator.resource_group,
                "workspace_name": emulator.workspace,
                "auth_type": "token",
                "token": emulator.token,
                "verbose_http": True,
            },
        },
    )
    with caplog.at_level(logging.INFO):  # what Airflow's task log handler lets through
        ok, message = hook.test_connection()
    hook.close()
    assert ok, message
    assert "ws-emulator" in message or emulator.workspace in message
    lines = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_mlendpoints.client.http"]
    assert any(line.startswith("GET http://") and "/batchEndpoints" in line and "-> 200" in line for line in lines)
    assert all("\n" not in line for line in lines)
    assert not any(emulator.token in line or "api-version=" in line for line in lines)


def test_connection_test_reports_a_wrong_token(monkeypatch, emulator):
    hook = _hook_for(
        monkeypatch,
        {
            "host": emulator.base_url,
            "extra": {
                "subscription_id": emulator.subscription,
                "resource_group": emulator.resource_group,
                "workspace_name": emulator.workspace,
                "token": "not-the-token",
            },
        },
    )
    ok, message = hook.test_connection()
    hook.close()
    assert not ok
    assert "not-the-token" not in message
    assert "401" in message or "uthenticat" in message or "uthoriz" in message
