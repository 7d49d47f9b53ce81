"""Apache Airflow provider for machine-learning endpoints (Azure ML batch and online).

Importing this package is cheap: Airflow-facing pieces are imported from their
own modules (``airflow_provider_mlendpoints.self_hosted``, ``.operators``, ...).
:func:`batch_scoring` is re-exported here; its module imports Airflow only when
it is called.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .batch_scoring import batch_scoring  # noqa: E402 - after __version__ (get_provider_info reads it)

__all__ = ["__version__", "batch_scoring"]
