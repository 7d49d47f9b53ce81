"""Self-hosted batch scoring engine: runs an Azure ML batch deployment on this machine's processes.

Public API (imported lazily, so scoring child processes start fast)::

    from airflow_provider_mlendpoints.engine import (
        plan_job, score_shard, collect_job, run_local, JobFailed, ShardRef,
    )

Never imports airflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:  # pragma: no cover
    from .api import run_local
    from .collect import collect_job
    from .errors import (
        EngineError,
        InputError,
        JobFailed,
        JobIncomplete,
        OutputBusyError,
        OutputExistsError,
        PlanMismatchError,
        ScoringError,
        StorageFailed,
    )
    from .job import OutputFormat, ScoringJob
    from .plan import ShardRef, plan_job
    from .shard import score_shard

_EXPORTS = {
    "plan_job": ".plan",
    "ShardRef": ".plan",
    "score_shard": ".shard",
    "run_local": ".api",
    "collect_job": ".collect",
    "ScoringJob": ".job",
    "OutputFormat": ".job",
    "EngineError": ".errors",
    "InputError": ".errors",
    "JobFailed": ".errors",
    "JobIncomplete": ".errors",
    "OutputBusyError": ".errors",
    "OutputExistsError": ".errors",
    "PlanMismatchError": ".errors",
    "ScoringError": ".errors",
    "StorageFailed": ".errors",
}

__all__ = [
    "EngineError",
    "InputError",
    "JobFailed",
    "JobIncomplete",
    "OutputBusyError",
    "OutputExistsError",
    "OutputFormat",
    "PlanMismatchError",
    "ScoringError",
    "ScoringJob",
    "ShardRef",
    "StorageFailed",
    "collect_job",
    "plan_job",
    "run_local",
    "score_shard",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
