"""Apache Airflow provider for machine-learning endpoints (Azure ML batch and online).

Importing this package is cheap: Airflow-facing pieces are imported from their
own modules (``airflow_provider_mlendpoints.self_hosted``, ``.operators``, ...).
"""

__version__ = "0.1.0"
