"""Registering the credentials a rendered location carries with Airflow's secrets masker.

Operators (through :class:`MasksLocationCredentials`) call
:func:`mask_location_credentials` right after their template fields are
rendered, mapped task instances included, so that the task log, the rendered fields shown in the
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


class MasksLocationCredentials:
    """Operator mixin (before BaseOperator): once the template fields are rendered, register the
    credentials in the locations named by :attr:`masked_locations` with the masker.

    It hooks ``_do_render_template_fields``, the step Airflow runs for plain and for mapped task
    instances alike (a mapped one renders without calling the operator's ``render_template_fields``),
    before the rendered fields are stored and shown.
    """

    #: The attributes that hold locations (URLs that may carry a SAS token).
    masked_locations: tuple[str, ...] = ()

    def _do_render_template_fields(
        self, parent: Any, template_fields: Any, context: Any, jinja_env: Any, seen_oids: set[int]
    ) -> None:
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)  # type: ignore[misc]
        if parent is self:
            mask_location_credentials(*(getattr(self, name, None) for name in self.masked_locations))
