"""The self-hosted benchmark's harness runs end to end at tiny sizes (its figures are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_self_hosted_quick_prints_figures(repo_root: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(repo_root / "bench" / "self_hosted.py"), "--quick", "--skip-airflow", "--skip-stack",
         "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=repo_root,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("a_seconds", "b_seconds", "b_over_a", "d_plan_seconds", "d_plan_peak_rss_mb",
                "e_collect_rows", "e_collect_peak_rss_mb"):
        assert key in figures, key
    assert figures["e_collect_rows"] == 20_000
    assert figures["b_over_a"] > 0 and figures["d_plan_peak_rss_mb"] > 0
    predictions = (tmp_path / "cli-output" / "predictions.csv").read_text().splitlines()
    assert len(predictions) == figures["files"]
