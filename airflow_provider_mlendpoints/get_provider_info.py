"""Provider metadata for Airflow's ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from . import __version__
from .compat import DOCUMENTATION_URL
from .connection_form import connection_type_info


def get_provider_info() -> dict[str, Any]:
    """Describe this provider's hooks, operators, connection types and links to Airflow."""
    return {
        "package-name": "airflow-provider-mlendpoints",
        "name": "ML Endpoints (Azure Machine Learning)",
        "description": "Azure ML batch and online endpoints, self-hosted batch scoring, offline emulator.",
        "versions": [__version__],
        "documentation-url": DOCUMENTATION_URL,
        "integrations": [
            {
                "integration-name": "Azure Machine Learning endpoints",
                "external-doc-url": "https://learn.microsoft.com/azure/machine-learning/concept-endpoints",
                "tags": ["azure"],
            }
        ],
        "task-decorators": [],
        "operators": [
            {
                "integration-name": "Azure Machine Learning endpoints",
                "python-modules": [
                    "airflow_provider_mlendpoints.operators.self_hosted",
                    "airflow_provider_mlendpoints.operators.batch_invoke",
                    "airflow_provider_mlendpoints.operators.batch",
                    "airflow_provider_mlendpoints.operators.online",
                    "airflow_provider_mlendpoints.operators.online_use",
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": "Azure Machine Learning endpoints",
                "python-modules": ["airflow_provider_mlendpoints.hooks.ml_endpoints"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Azure Machine Learning endpoints",
                "python-modules": [
                    "airflow_provider_mlendpoints.sensors.batch_job",
                    "airflow_provider_mlendpoints.sensors.provisioning",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Azure Machine Learning endpoints",
                "python-modules": [
                    "airflow_provider_mlendpoints.triggers.wait",
                    "airflow_provider_mlendpoints.triggers.batch_job",
                    "airflow_provider_mlendpoints.triggers.provisioning",
                ],
            }
        ],
        "connection-types": [connection_type_info()],
        "extra-links": [
            "airflow_provider_mlendpoints.links.AzureMLJobLink",
            "airflow_provider_mlendpoints.links.AzureMLEndpointLink",
            "airflow_provider_mlendpoints.links.AzureMLDeploymentLink",
        ],
    }
