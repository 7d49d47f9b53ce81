"""The ``azure_ml_endpoints`` connection form, declared as data (no Airflow import).

Airflow 3.2+ draws the Add/Edit Connection form from the provider info's ``hook-name``,
``conn-fields`` and ``ui-field-behaviour`` (see :func:`connection_type_info`); the hook's
legacy ``get_connection_form_widgets`` / ``get_ui_field_behaviour`` reuse the same labels and
placeholders for older UIs. Every extra field is stored under its plain name in the connection's
extra JSON, the names the hook always read, so connections written as Extra JSON keep working.
"""

from __future__ import annotations

from typing import Any

CONN_TYPE = "azure_ml_endpoints"
HOOK_NAME = "Azure ML Endpoints"
HOOK_CLASS = "airflow_provider_mlendpoints.hooks.ml_endpoints.MLEndpointsHook"
DEFAULT_MANAGEMENT_URL = "https://management.azure.com"

#: The credential kinds of the ``auth_type`` field (empty: inferred from the fields present).
AUTH_TYPES = ("default", "service_principal", "managed_identity", "workload_identity", "token")

_TEXT = {"type": ["string", "null"]}
_SECRET = {"type": ["string", "null"], "format": "password"}
_FLAG = {"type": ["boolean", "null"], "default": False}

#: Extra fields: name -> (label, JSON schema, help text, placeholder).
EXTRA_FIELDS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "subscription_id": (
        "Subscription ID", _TEXT, "The Azure subscription of the workspace (required).",
        "00000000-0000-0000-0000-000000000000",
    ),
    "resource_group": ("Resource Group", _TEXT, "The workspace's resource group (required).", "my-resource-group"),
    "workspace_name": ("Workspace Name", _TEXT, "The Azure ML workspace (required).", "my-workspace"),
    "auth_type": (
        "Authentication",
        {"type": ["string", "null"], "enum": ["", *AUTH_TYPES], "default": ""},
        "default: DefaultAzureCredential; service_principal: tenant + client id + secret; managed_identity; "
        "workload_identity (AKS federated token); token: a static bearer token (emulator, CI). "
        "Empty: inferred (token when one is set, service principal when client id and secret are set, "
        "else default).",
        " | ".join(AUTH_TYPES),
    ),
    "tenant_id": (
        "Tenant ID", _TEXT, "Microsoft Entra tenant of the service principal (or workload identity).",
        "00000000-0000-0000-0000-000000000000",
    ),
    "managed_identity_client_id": (
        "Managed Identity Client ID", _TEXT, "Client id of a user-assigned managed identity (empty: system-assigned).",
        "user-assigned identity client id",
    ),
    "workload_identity_tenant_id": (
        "Workload Identity Tenant ID", _TEXT, "Tenant for workload identity (default: Tenant ID).", "tenant id",
    ),
    "token": (
        "Static Bearer Token", _SECRET, "A fixed bearer token (authentication 'token'): the emulator's --token.",
        "emulator token",
    ),
    "data_plane_url": (
        "Data Plane URL Override", _TEXT,
        "Replaces scheme and host of scoring URIs (the emulator's base URL when it runs behind another name).",
        "http://127.0.0.1:8910",
    ),
    "storage_urls": (
        "Storage URLs (JSON)", _TEXT,
        'Storage account -> account URL or connection string, e.g. Azurite: {"devstoreaccount1": "http://..."}.',
        '{"devstoreaccount1": "http://127.0.0.1:10000/devstoreaccount1"}',
    ),
    "api_version": ("API Version", _TEXT, "Azure ML REST API version (default 2024-04-01).", "2024-04-01"),
    "authority_host": (
        "Authority Host", _TEXT, "Entra authority for sovereign clouds.", "https://login.microsoftonline.com",
    ),
    "allow_insecure_http": (
        "Allow Insecure HTTP", _FLAG, "Send the bearer token over plain http to a non-loopback host (emulator).", "",
    ),
    "verbose_http": (
        "Verbose HTTP Logging", _FLAG,
        "Log one line per HTTP request (method, URL without secrets, status, duration) in the task log.", "",
    ),
}  # fmt: skip

#: Standard fields: hidden, relabelled, placeholders.
HIDDEN_FIELDS = ["schema", "port", "extra"]
RELABELING = {
    "host": "Management URL (emulator: its base URL)",
    "login": "Client ID (service principal)",
    "password": "Client Secret (service principal)",
}
STANDARD_PLACEHOLDERS = {
    "host": DEFAULT_MANAGEMENT_URL,
    "login": "application (client) id",
    "password": "client secret",
}


def placeholders() -> dict[str, str]:
    """Placeholders of the standard and the extra fields (extra fields by their plain names)."""
    return {**STANDARD_PLACEHOLDERS, **{name: spec[3] for name, spec in EXTRA_FIELDS.items() if spec[3]}}


def connection_type_info() -> dict[str, Any]:
    """The ``connection-types`` entry of the provider info (Airflow's provider.yaml schema)."""
    return {
        "hook-class-name": HOOK_CLASS,
        "hook-name": HOOK_NAME,
        "connection-type": CONN_TYPE,
        "ui-field-behaviour": {
            "hidden-fields": list(HIDDEN_FIELDS),
            "relabeling": dict(RELABELING),
            "placeholders": placeholders(),
        },
        "conn-fields": {
            name: {"label": label, "schema": dict(schema), "description": description}
            for name, (label, schema, description, _placeholder) in EXTRA_FIELDS.items()
        },
    }


def secret_fields() -> list[str]:
    """Extra fields that hold secrets (shown as password inputs, masked in logs)."""
    return [name for name, spec in EXTRA_FIELDS.items() if spec[1].get("format") == "password"]
