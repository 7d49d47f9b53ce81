"""Progress lines carry the real item totals, in run_local and in shard tasks (own shard and helping)."""

from __future__ import annotations

import re

from airflow_provider_mlendpoints.engine import plan_job, run_local, score_shard

from .helpers import ECHO_SCRIPT, make_inputs, make_job, write_script

LINE = re.compile(r"(\d+)/(\d+) mini-batches \(\d+%(?:, \d+ by other tasks)?\), (\d+)/(\d+) items .* time left ~(\S+)")


def _progress(lines: list[str], label: str) -> list[tuple[int, int, int, int, str]]:
    found = []
    for line in lines:
        match = LINE.search(line)
        if match and line.startswith(label + ":"):
            a, b, c, d, eta = match.groups()
            found.append((int(a), int(b), int(c), int(d), eta))
    return found


def test_shard_task_progress_has_item_totals(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 12), mini_batch_size=2, instance_count=2)
    shards = plan_job(job)
    own: list[str] = []
    score_shard(job, shards[0], help_others=False, log=own.append)
    lines = _progress(own, "shard 0")
    assert lines and all(total == 6 for _, _, _, total, _ in lines)  # 3 mini-batches of 2 files
    assert lines[-1][:4] == (3, 3, 6, 6) and lines[-1][4] == "0:00:00"

    helper: list[str] = []
    score_shard(job, shards[0], log=helper.append)  # own shard done: helps shard 1 from its end
    helping = _progress(helper, "shard 0 helping shard 1")
    assert helping and helping[-1][:4] == (3, 3, 6, 6)


def test_run_local_progress_has_item_totals(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 7), mini_batch_size=3)
    lines: list[str] = []
    run_local(job, workers=1, log=lines.append)
    progress = _progress(lines, "scoring")
    assert progress[-1][:4] == (3, 3, 7, 7)


def test_mini_batches_scored_by_other_tasks_count_as_done():
    from airflow_provider_mlendpoints.engine.progress import Progress

    lines: list[str] = []
    progress = Progress(4, 40, lines.append, label="shard 1", interval=3600)
    for _ in range(3):
        progress.add(10, 10, 0)
    progress.add_elsewhere(1, 10)  # a helping shard task scored the fourth
    progress.finish()
    assert "4/4 mini-batches (100%, 1 by other tasks), 40/40 items (30 succeeded, 0 failed)" in lines[-1]
    assert lines[-1].endswith("time left ~0:00:00")
    assert LINE.search(lines[-1]).groups()[:4] == ("4", "4", "40", "40")
