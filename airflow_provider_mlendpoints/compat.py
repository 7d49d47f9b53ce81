"""What the provider needs of Airflow: the version floor, and the few functions only a private
module offers, wrapped once with a fallback."""

from __future__ import annotations

import re

#: The oldest Airflow the provider runs on (pyproject's ``apache-airflow>=`` says the same; a test
#: checks): :class:`airflow.sdk.ResumableJobMixin` and the task state store came with 3.3.
AIRFLOW_FLOOR = "3.3"
#: Where the documentation lives (pyproject's ``[project.urls]`` Documentation; the provider info's
#: ``documentation-url``).
DOCUMENTATION_URL = "https://github.com/mlendpoints/airflow-provider-mlendpoints/tree/main/docs"

#: Airflow's default sensitive-name words (``[core] sensitive_var_conn_names`` adds to them).
_SENSITIVE = re.compile(
    r"access_token|api_key|apikey|authorization|passphrase|passwd|password|private_key|secret|token|"
    r"keyfile_dict|service_account",
    re.IGNORECASE,
)


def should_hide_value_for_key(name: str) -> bool:
    """Whether Airflow's secrets masker treats a variable/setting called ``name`` as sensitive.

    Airflow exposes this only in ``airflow.sdk._shared.secrets_masker`` (its own deprecation
    warning points there); when that module moves, the default word list decides.
    """
    try:
        from airflow.sdk._shared.secrets_masker import should_hide_value_for_key as hide
    except ImportError:
        return bool(_SENSITIVE.search(name or ""))
    return bool(hide(name))


def mask_in_this_process(secret: str) -> None:
    """Register ``secret`` with this process's secrets masker only (safe inside a triggerer's event
    loop, where the public ``airflow.sdk.log.mask_secret`` also messages the supervisor).

    Only ``airflow.sdk._shared.secrets_masker`` offers the process-local masker; when that module
    moves, the public ``mask_secret`` is used.
    """
    try:
        from airflow.sdk._shared.secrets_masker import _secrets_masker
    except ImportError:
        from airflow.sdk.log import mask_secret

        mask_secret(secret)
        return
    _secrets_masker().add_mask(secret)
