"""How a scoring child is started: which interpreter, and how it imports the child side of the engine.

The child may run under another interpreter than the worker's (``ScoringJob.python``, or an
environment built with ``environment="build"``), one that need not have this provider,
Airflow or pandas installed, on Python 3.8 or later. So the child never imports the package
(whose ``__init__`` pulls in the whole engine): it registers the package folders as empty
namespace modules and imports :mod:`.scoring_process` and the few standard-library-only
modules it needs (``layout``, ``parts``, ``model_mount``, ``storage.base``, ``storage.local``).
pandas, pyarrow and mlflow load only when the input, the output or the scoring script asks
for them, from the child's own environment.
"""

from __future__ import annotations

import os
import sys
from typing import Any

PACKAGE = "airflow_provider_mlendpoints"
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_BOOT = (
    "import sys, types\n"
    "for name, path in (({package!r}, {package_dir!r}), ({package!r} + '.engine', {engine_dir!r})):\n"
    "    module = types.ModuleType(name); module.__path__ = [path]; sys.modules[name] = module\n"
    "from {package}.engine.scoring_process import main_fd\n"
    "main_fd({fd})\n"
)


def interpreter(setup: dict[str, Any]) -> str:
    """The Python the child runs under: the setup's ``python``, else the worker's own."""
    return setup.get("python") or sys.executable


def child_command(setup: dict[str, Any], fd: int) -> list[str]:
    """The command line of a scoring child serving the socket ``fd``."""
    code = _BOOT.format(
        package=PACKAGE, package_dir=PACKAGE_DIR, engine_dir=os.path.join(PACKAGE_DIR, "engine"), fd=fd
    )
    return [interpreter(setup), "-c", code]


def child_sys_path(setup: dict[str, Any]) -> list[str]:
    """Extra ``sys.path`` entries for the child: the worker's, when the child runs the worker's Python.

    Another interpreter keeps its own (the worker's site-packages are built for another Python).
    """
    if os.path.realpath(interpreter(setup)) == os.path.realpath(sys.executable):
        return list(sys.path)
    return []
