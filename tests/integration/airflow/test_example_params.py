"""Every Param of the example DAGs has a title and a description (the trigger form shows them)."""

from __future__ import annotations

import pytest

from tests.fixtures.airflow_db import load_dag
from tests.fixtures.paths import REPO_ROOT

DAGS = REPO_ROOT / "dags"


@pytest.mark.parametrize("path", sorted(DAGS.glob("example_*.py")), ids=lambda p: p.stem)
def test_example_params_have_titles(airflow_db, path):
    dag = load_dag(path, path.stem)
    assert dag.params, f"{path.name} has no params"
    for name in dag.params:
        schema = dag.params.get_param(name).schema
        assert schema.get("title"), f"{path.name}: param {name!r} has no title"
        assert dag.params.get_param(name).description, f"{path.name}: param {name!r} has no description"
