"""What importing each operator, sensor and trigger module costs beyond ``airflow.sdk``.

Every DAG parse and every task start pays it. Each module is imported in a fresh interpreter
(after ``import airflow.sdk``), several times; the figures are medians: wall time, CPU time of the
import (steadier on a loaded machine) and the number of modules it adds.

    .venv/bin/python bench/import_cost.py            # every operator/sensor/trigger module
    .venv/bin/python bench/import_cost.py MODULE...  # chosen modules
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "airflow_provider_mlendpoints"
ROOT = Path(__file__).resolve().parent.parent
_PROBE = r"""
import sys, time
import airflow.sdk
before = set(sys.modules)
wall, cpu = time.perf_counter(), time.process_time()
import importlib
importlib.import_module(sys.argv[1])
print(time.perf_counter() - wall, time.process_time() - cpu, len(set(sys.modules) - before))
"""


@dataclass(frozen=True)
class ImportCost:
    module: str
    wall_ms: float
    cpu_ms: float
    modules: int

    def line(self) -> str:
        return f"{self.module:58s} wall {self.wall_ms:6.0f} ms  cpu {self.cpu_ms:6.0f} ms  modules {self.modules:4d}"


def provider_modules() -> list[str]:
    """Every module of ``operators/``, ``sensors/`` and ``triggers/``."""
    out = []
    for folder in ("operators", "sensors", "triggers"):
        for path in sorted((ROOT / PACKAGE / folder).glob("*.py")):
            name = f"{PACKAGE}.{folder}" if path.stem == "__init__" else f"{PACKAGE}.{folder}.{path.stem}"
            out.append(name)
    return out


def import_cost(module: str, runs: int = 5) -> ImportCost:
    """Median cost of importing ``module`` in ``runs`` fresh interpreters."""
    walls, cpus, counts = [], [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, module], capture_output=True, text=True, cwd=ROOT, check=False
        )
        if done.returncode:
            raise RuntimeError(f"importing {module} failed:\n{done.stderr[-2000:]}")
        wall, cpu, count = done.stdout.split()
        walls.append(float(wall))
        cpus.append(float(cpu))
        counts.append(int(count))
    return ImportCost(module, statistics.median(walls) * 1000, statistics.median(cpus) * 1000, int(statistics.median(counts)))


def main(argv: list[str]) -> int:
    for module in argv or provider_modules():
        print(import_cost(module).line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
