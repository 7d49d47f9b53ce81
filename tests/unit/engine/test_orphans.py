"""A shard task killed with SIGKILL takes its scoring processes with it (no orphans scoring on)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from .helpers import make_inputs, write_script

SLOW_SCRIPT = """
import os, time
PIDS = os.environ["PID_DIR"]

def init():
    open(os.path.join(PIDS, str(os.getpid())), "w").close()

def run(mini_batch):
    time.sleep(60)
    return [os.path.basename(p) for p in mini_batch]
"""

SHARD_RUNNER = textwrap.dedent(
    """
    import sys
    from airflow_provider_mlendpoints.engine import plan_job, score_shard
    from tests.unit.engine.helpers import make_job
    from pathlib import Path
    tmp, code, inputs = (Path(a) for a in sys.argv[1:4])
    job = make_job(tmp, code, inputs, mini_batch_size=1, max_concurrency_per_instance=2, retry=(0, 300))
    shards = plan_job(job, max_shards=1)
    score_shard(job, shards[0], log=lambda line: None)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_scoring_children_exit_when_the_shard_process_is_killed(tmp_path: Path, repo_root: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    code = write_script(tmp_path, SLOW_SCRIPT)
    inputs = make_inputs(tmp_path, 4)
    shard = subprocess.Popen(
        [sys.executable, "-c", SHARD_RUNNER, str(tmp_path), str(code), str(inputs)],
        cwd=repo_root,
        env={**os.environ, "PID_DIR": str(pids)},
    )
    try:
        deadline = time.monotonic() + 120
        while len(os.listdir(pids)) < 2 and time.monotonic() < deadline:
            assert shard.poll() is None, "the shard process ended before its scoring processes started"
            time.sleep(0.2)
        children = [int(name) for name in os.listdir(pids)]
        assert len(children) == 2, "expected max_concurrency_per_instance=2 scoring processes"
        assert all(_alive(pid) for pid in children)

        shard.send_signal(signal.SIGKILL)
        shard.wait(timeout=30)

        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in children), "scoring processes outlived their killed shard task"
    finally:
        if shard.poll() is None:
            shard.kill()
        for name in os.listdir(pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(name), signal.SIGKILL)
