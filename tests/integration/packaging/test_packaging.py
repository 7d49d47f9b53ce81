"""Packaging says what the code needs: the Airflow floor, an SPDX license, the project's URLs."""

from __future__ import annotations

import re

import tomllib
from packaging.version import Version

from airflow_provider_mlendpoints.compat import AIRFLOW_FLOOR, DOCUMENTATION_URL, should_hide_value_for_key
from tests.fixtures.paths import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_airflow_floor_matches_what_the_code_needs():
    (requirement,) = [d for d in PYPROJECT["project"]["dependencies"] if re.match(r"apache-airflow\s*>=", d)]
    assert re.match(r"apache-airflow\s*>=\s*([\d.]+)", requirement)[1] == AIRFLOW_FLOOR
    import airflow
    from airflow.sdk import ResumableJobMixin  # the 3.3 API the invoke operator is built on

    assert ResumableJobMixin.__name__ == "ResumableJobMixin"
    assert Version(airflow.__version__) >= Version(AIRFLOW_FLOOR)


def test_license_is_spdx_and_urls_are_declared():
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert set(project["urls"]) >= {"Documentation", "Source", "Issues"}
    assert project["urls"]["Documentation"] == DOCUMENTATION_URL

    from airflow_provider_mlendpoints.get_provider_info import get_provider_info

    assert get_provider_info()["documentation-url"] == DOCUMENTATION_URL


def test_sensitive_names_come_from_airflow_or_the_fallback(monkeypatch):
    import sys

    assert should_hide_value_for_key("API_KEY") and not should_hide_value_for_key("LOG_LEVEL")
    monkeypatch.setitem(sys.modules, "airflow.sdk._shared.secrets_masker", None)  # the module moved
    assert should_hide_value_for_key("db_password") and not should_hide_value_for_key("mini_batch_size")
