"""The deployment's environment, built on request (``environment="build"`` / ``--environment build``).

Azure builds the environment a deployment declares: its conda file (``environment.conda_file``)
or, for an MLflow model deployed without a scoring script, the model's own requirements
(``requirements.txt``, the Python of ``python_env.yaml`` or ``conda.yaml``). Self-hosted mode
builds the same as a virtualenv:

- packages: the conda file's ``pip:`` section, plus its conda packages mapped to pip names
  (``py-xgboost`` -> ``xgboost``, ``pytorch`` -> ``torch``; ``name=1.2`` -> ``name==1.2``);
  packages that only serve Azure's own runtime (:data:`AZURE_RUNTIME_PACKAGES`, overridable
  with ``$MLENDPOINTS_SKIP_PACKAGES``, a comma-separated list) are left out with a log line;
- Python: the version the file asks for (``python=3.8``) when such an interpreter is installed
  (on ``PATH`` as ``python3.8`` or under pyenv), else the nearest installed one, with a warning;
- installer: ``uv`` when available (the ``build`` extra installs it), else ``python -m venv``
  and pip;
- cache: ``<cache>/<hash of Python version + packages>``, under ``$MLENDPOINTS_ENV_CACHE``
  (default ``~/.cache/mlendpoints/envs``); a file lock makes one build per machine even when
  several shard tasks start at once; a finished build is marked and reused by later runs.

A build failure raises :class:`InputError` with the installer's own message, once, before any
mini-batch runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

from .errors import InputError
from .job import ScoringJob

log = logging.getLogger(__name__)

CACHE_ENV = "MLENDPOINTS_ENV_CACHE"
SKIP_ENV = "MLENDPOINTS_SKIP_PACKAGES"
#: Packages that exist to serve Azure ML's own runtime (the inference server, datasets,
#: telemetry, run tracking); published batch scripts do not import them.
AZURE_RUNTIME_PACKAGES = (
    "azureml-defaults", "azureml-inference-server-http", "azureml-dataset-runtime", "azureml-dataprep",
    "azureml-core", "azureml-mlflow", "azureml-telemetry", "azureml-train-core", "azureml-interpret",
)  # fmt: skip
CONDA_TO_PIP = {"py-xgboost": "xgboost", "pytorch": "torch", "pytorch-cpu": "torch", "tensorflow-gpu": "tensorflow"}
CONDA_ONLY = ("pip", "python", "cudatoolkit", "cudnn", "mkl", "libgcc", "_libgcc_mutex", "nomkl")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
BUILD_TIMEOUT = 1800
_WARNED: set[tuple[str, ...]] = set()


def skipped_packages() -> tuple[str, ...]:
    """The Azure-runtime packages left out of builds (``$MLENDPOINTS_SKIP_PACKAGES`` overrides)."""
    text = os.environ.get(SKIP_ENV)
    if text is None:
        return AZURE_RUNTIME_PACKAGES
    return tuple(p.strip().lower() for p in text.split(",") if p.strip())


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_conda_file(path: str) -> tuple[str | None, list[str]]:
    """(Python version asked for, pip requirements) of a conda environment file."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"environment.conda_file {path}: cannot read it: {exc}") from exc
    python, requirements, unmapped = None, [], []
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict):
            requirements += [str(r) for r in dep.get("pip") or []]
            continue
        spec = str(dep).split("::")[-1].strip()
        name, _, rest = spec.partition("=")
        name = name.strip().split(">")[0].split("<")[0]
        version = rest.lstrip("=").split("=")[0].strip()
        if name == "python":
            python = version or None
        elif name in CONDA_ONLY:
            continue
        elif name:
            pip_name = CONDA_TO_PIP.get(name, name)
            requirements.append(f"{pip_name}=={version}" if version and "*" not in version else pip_name)
            if name in CONDA_TO_PIP:
                unmapped.append(f"{name} -> {pip_name}")
    if unmapped:
        log.info("conda packages installed under their pip names: %s", ", ".join(unmapped))
    return python, requirements


def read_mlflow_requirements(model_dir: str) -> tuple[str | None, list[str]]:
    """(Python version, requirements) an MLflow model declares (requirements.txt, python_env.yaml)."""
    import yaml

    python: str | None = None
    requirements: list[str] = []
    for folder in sorted({os.path.dirname(p) for p in glob.glob(os.path.join(model_dir, "**", "MLmodel"),
                                                                   recursive=True)}):
        env_file = os.path.join(folder, "python_env.yaml")
        conda = os.path.join(folder, "conda.yaml")
        req = os.path.join(folder, "requirements.txt")
        if os.path.isfile(conda):
            python, requirements = read_conda_file(conda)
        if os.path.isfile(env_file):
            with open(env_file, encoding="utf-8") as f:
                python = str((yaml.safe_load(f) or {}).get("python") or "") or python
        if os.path.isfile(req):  # mlflow's own pin list wins over the conda file's pip section
            with open(req, encoding="utf-8") as f:
                requirements = [line.strip() for line in f if line.strip() and not line.startswith(("#", "-"))]
        if python or requirements:
            break
    return python, requirements


#: Requirements whose leaving-out this process already logged (the plan and the scoring step of
#: one run both compute the environment; the line is said once).
_LEFT_OUT_LOGGED: set[str] = set()


def without_azure_runtime(requirements: list[str]) -> list[str]:
    """The requirements less the Azure-runtime packages (each one left out is logged, once)."""
    skip = {_canonical(p) for p in skipped_packages()}
    kept = []
    for req in requirements:
        match = _NAME.match(req)
        if match and _canonical(match.group(1)) in skip:
            if req in _LEFT_OUT_LOGGED:
                continue
            _LEFT_OUT_LOGGED.add(req)
            log.info("environment build: leaving out %s (it serves Azure ML's own runtime; %s overrides)",
                     req, SKIP_ENV)
            continue
        kept.append(req)
    return kept


def installed_pythons() -> dict[tuple[int, int], str]:
    """Installed interpreters by (major, minor): ``pythonX.Y`` on PATH, pyenv's versions, this one."""
    found: dict[tuple[int, int], str] = {sys.version_info[:2]: sys.executable}
    roots = [os.environ.get("PYENV_ROOT") or "", os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    for root in roots:
        for exe in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3"))):
            match = re.search(r"/versions/3\.(\d+)\.\d+/bin/", exe)
            if match:
                found.setdefault((3, int(match.group(1))), exe)
    for minor in range(8, 20):
        on_path = shutil.which(f"python3.{minor}")
        if on_path:
            found.setdefault((3, minor), on_path)
    return found


def pick_python(wanted: str | None) -> str:
    """The interpreter for the Python version ``wanted`` ("3.8", "3.8.10"), or the nearest installed one."""
    pythons = installed_pythons()
    if not wanted:
        return sys.executable
    match = re.match(r"^\s*(\d+)\.(\d+)", wanted)
    if not match:
        return sys.executable
    key = (int(match.group(1)), int(match.group(2)))
    if key in pythons:
        return pythons[key]
    nearest = min(pythons, key=lambda k: (abs(k[1] - key[1]), -k[1]))
    log.warning("environment build: Python %s is not installed here; using the nearest, %d.%d (%s)",
                wanted, nearest[0], nearest[1], pythons[nearest])
    return pythons[nearest]


def env_cache() -> str:
    """The folder built environments are kept in."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "mlendpoints", "envs")


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uv() -> str | None:
    try:
        import uv  # the build extra

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def build_environment(python_version: str | None, requirements: list[str], cache: str | None = None,
                      where: str = "environment") -> str:
    """The interpreter of a virtualenv holding ``requirements`` (built once, then reused)."""
    requirements = without_azure_runtime(requirements)
    base = pick_python(python_version)
    version = subprocess.run([base, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    identity = json.dumps({"python": version, "requirements": sorted(requirements)})
    digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
    root = os.path.abspath(cache or env_cache())
    os.makedirs(root, exist_ok=True)
    target = os.path.join(root, digest)
    exe = os.path.join(target, "bin", "python")
    done = os.path.join(target, ".mlendpoints-built")
    with _locked(target + ".lock"):
        if os.path.exists(done):
            return exe
        shutil.rmtree(target, ignore_errors=True)  # an interrupted earlier build
        started = time.monotonic()
        log.info("environment build: Python %s with %d package(s) into %s", version, len(requirements), target)
        uv = _uv()
        if uv:
            # --seed: pip and setuptools, as in the conda environment Azure builds (old packages import pkg_resources)
            steps = [[uv, "venv", "--quiet", "--seed", "--python", base, target]]
            if requirements:
                steps.append([uv, "pip", "install", "--quiet", "--python", exe, *requirements])
        else:
            steps = [[base, "-m", "venv", target]]
            if requirements:
                steps.append([exe, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements])
        for step in steps:
            try:
                proc = subprocess.run(step, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired) as exc:
                shutil.rmtree(target, ignore_errors=True)
                raise InputError(f"{where}: building the environment failed: {exc}") from exc
            if proc.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                message = (proc.stderr or proc.stdout).strip()[-4000:]
                raise InputError(f"{where}: building the environment failed ({os.path.basename(step[0])} "
                                 f"{step[1]} {step[2]}): {message}")
        with open(done, "w") as f:
            json.dump({"identity": json.loads(identity), "seconds": round(time.monotonic() - started, 1)}, f)
        log.info("environment build: done in %.1f s", time.monotonic() - started)
    return exe


def warn_differing_versions(requirements: list[str]) -> list[str]:
    """Log one warning naming the pinned ``name==version`` requirements this interpreter does not match."""
    from importlib import metadata

    differing = []
    for req in requirements:
        name, sep, wanted = req.partition("==")
        if not sep:
            continue
        try:
            have = metadata.version(name.strip().split("[")[0])
        except metadata.PackageNotFoundError:
            have = "not installed"
        if have != wanted.strip().split(";")[0].strip():
            differing.append(f"{name.strip()} {wanted.strip()} (worker: {have})")
    if differing and tuple(differing) not in _WARNED:
        _WARNED.add(tuple(differing))  # once per process: the plan and the scoring step both check
        log.warning("the MLflow model was saved with library versions the worker does not have: %s; "
                    "environment='build' / --environment build scores it in an environment of its own",
                    ", ".join(differing))
    return differing


def job_python(job: ScoringJob) -> str | None:
    """The interpreter a job's scoring children run under: ``job.python``, a built environment, or None."""
    if job.python:
        if not (os.path.isfile(job.python) and os.access(job.python, os.X_OK)):
            raise InputError(f"python {job.python!r}: not an executable interpreter")
        return job.python
    d = job.deployment
    if job.environment != "build":
        if d.code is None and d.model is not None and d.model.path:
            warn_differing_versions(read_mlflow_requirements(d.model.path)[1])
        return None
    where = d.source or f"deployment {d.name!r}"
    conda = d.environment.conda_file if d.environment is not None else None
    if conda:
        python, requirements = read_conda_file(conda)
    elif d.code is None and d.model is not None and d.model.path:
        python, requirements = read_mlflow_requirements(d.model.path)
    else:
        raise InputError(f"{where}: environment build needs environment.conda_file (or an MLflow model "
                         "without a scoring script)")
    return build_environment(python, requirements, job.env_cache, where)
