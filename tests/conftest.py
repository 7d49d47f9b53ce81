"""Shared test set-up.

Airflow reads its configuration when first imported, so the environment for a
private AIRFLOW_HOME (temporary, migrated on first use), no example DAGs and
this repository's dags/ folder is set here, before any test module imports it.
Fixtures live in tests/fixtures/, one module per real service.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"

_airflow_home = tempfile.mkdtemp(prefix="mlendpoints-airflow-home-")
os.environ["AIRFLOW_HOME"] = _airflow_home
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_airflow_home}/airflow.db"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

pytest_plugins = [
    "tests.fixtures.paths",
    "tests.fixtures.azurite",
    "tests.fixtures.airflow_db",
    "tests.fixtures.emulator",
    "tests.fixtures.fake_arm",
    "tests.fixtures.samples",
    "tests.fixtures.workspace",
]
