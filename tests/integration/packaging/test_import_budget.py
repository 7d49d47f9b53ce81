"""Importing any operator, sensor or trigger module stays cheap: every DAG parse and task start pays it.

Budget: 150 ms and 150 modules beyond ``airflow.sdk``, measured in fresh interpreters (median of
three). The time is the import's CPU time, which a loaded machine disturbs far less than wall time.
"""

from __future__ import annotations

import pytest

from bench.import_cost import import_cost, provider_modules

BUDGET_MS = 150.0
BUDGET_MODULES = 150


def test_every_provider_module_is_listed():
    modules = provider_modules()
    assert "airflow_provider_mlendpoints.operators.batch" in modules
    assert "airflow_provider_mlendpoints.triggers.wait" in modules
    assert "airflow_provider_mlendpoints.sensors.provisioning" in modules


@pytest.mark.slow
@pytest.mark.parametrize("module", provider_modules())
def test_import_budget(module):
    cost = import_cost(module, runs=3)
    assert cost.modules <= BUDGET_MODULES, cost.line()
    assert cost.cpu_ms <= BUDGET_MS, cost.line()
