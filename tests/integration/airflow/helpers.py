"""Helpers: DAG sources for the test bundle, XCom and rendered fields of a run."""

from __future__ import annotations

from typing import Any


def dag_source(dag_id: str, body: str, *, imports: str = "", params: str = "{}") -> str:
    """A DAG file with ``body`` (indented 4) inside ``with DAG(...)``."""
    return f"""
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_mlendpoints.operators.batch_invoke import InvokeBatchEndpointOperator
{imports}

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, params={params}) as dag:
{body}
"""


def all_xcoms(dag_run: Any) -> list[tuple[str, str, Any]]:
    """(task_id, key, raw stored value) of every XCom of the run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(XComModel.task_id, XComModel.key, XComModel.value).where(
                XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id
            )
        ).all()
    return [(t, k, v) for t, k, v in rows]


def rendered_fields(dag_run: Any, task_id: str) -> dict[str, Any]:
    """The rendered template fields Airflow stored for a task of the run."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as RTIF
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        value = session.scalar(
            select(RTIF.rendered_fields).where(
                RTIF.dag_id == dag_run.dag_id, RTIF.run_id == dag_run.run_id, RTIF.task_id == task_id
            )
        )
    return value or {}


def try_numbers(dag_run: Any, task_id: str) -> int:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(
            select(TaskInstance.try_number).where(
                TaskInstance.dag_id == dag_run.dag_id,
                TaskInstance.run_id == dag_run.run_id,
                TaskInstance.task_id == task_id,
            )
        )


def task_logs(capfd: Any, caplog: Any) -> str:
    """Everything logged so far: task logs (structlog to the process's stdout/stderr) and
    Airflow's own stdlib logging (``[DAG TEST]`` lines, captured by caplog)."""
    out = capfd.readouterr()
    return out.out + out.err + "\n" + caplog.text


def ui_extra_links(dag_run: Any, task_id: str) -> dict[str, str | None]:
    """The extra links of a task as the API server resolves them (serialized DAG + XCom)."""
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        dr = session.get(DagRun, dag_run.id)
        dag = DBDagBag().get_dag_for_run(dr, session=session)
        task = dag.get_task(task_id)
        ti = dr.get_task_instance(task_id, session=session)
        names = list(task.operator_extra_link_dict)
        return {name: task.get_extra_links(ti, name) for name in names}
