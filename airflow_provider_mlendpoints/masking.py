"""Registering the credentials a rendered location carries with Airflow's secrets masker.

Operators call :func:`mask_location_credentials` right after their template
fields are rendered, so that the task log, the rendered fields shown in the
UI and anything else Airflow redacts hide a SAS token's signature (the
finding itself is pure: :func:`~airflow_provider_mlendpoints.engine.redact.secret_parts`).
"""

from __future__ import annotations

from typing import Any

from .engine.redact import secret_parts


def mask_location_credentials(*locations: Any) -> None:
    """Register every credential found in ``locations`` (URLs, paths, or None) with the masker."""
    parts = [part for location in locations if location for part in secret_parts(str(location))]
    if not parts:
        return
    from airflow.sdk.log import mask_secret

    for part in parts:
        mask_secret(part)
