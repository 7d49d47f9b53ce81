"""Builders for the parts every deployment shares: model, code, environment, maps."""

from __future__ import annotations

import os
from typing import Any

from . import coerce
from .errors import join_path
from .model import AzureMLRef, CodeSpec, EnvironmentSpec, ModelSpec
from .reader import Reader
from .refs import is_ref, parse_compute, parse_ref

MODEL_TYPES = {"custom_model", "mlflow_model", "triton_model"}


def string_map(reader: Reader, data: dict[str, Any], key: str, parent: str) -> dict[str, str]:
    """A mapping of names to scalar values (tags, environment variables), values as strings."""
    raw = reader.mapping(data, key, parent)
    if raw is None:
        return {}
    path = join_path(parent, key)
    out: dict[str, str] = {}
    for name, value in raw.items():
        if value is None:
            out[str(name)] = ""
            continue
        converted = reader.coerce(value, join_path(path, str(name)), coerce.scalar_text)
        if converted is not None:
            out[str(name)] = converted
    return out


def _entry(data: dict[str, Any], key: str, parent: str) -> tuple[Any, str]:
    """The raw value of ``key`` (None when absent) and its field path."""
    return data.get(key), join_path(parent, key)


def ref_or_none(reader: Reader, text: str, path: str) -> AzureMLRef | None:
    """Parse a reference, recording a problem when it is malformed."""
    return reader.coerce(text, path, parse_ref)


def compute(reader: Reader, data: dict[str, Any], parent: str = "") -> AzureMLRef | None:
    """The ``compute`` field: ``azureml:name``, a bare name, or an ARM id."""
    value, path = _entry(data, "compute", parent)
    if value is None:
        return None
    if not isinstance(value, str):
        reader.add(path, 'a compute name like "azureml:cpu-cluster"', value)
        return None
    return reader.coerce(value, path, parse_compute)


def model(reader: Reader, data: dict[str, Any], parent: str = "") -> ModelSpec | None:
    """``model``: a reference string, a local path string, or a mapping (path/local_path, name, version, type)."""
    value, path = _entry(data, "model", parent)
    if value is None:
        return None
    if isinstance(value, str):
        if is_ref(value):
            ref = ref_or_none(reader, value, path)
            return ModelSpec(name=ref.name if ref else None, version=ref.version if ref else None, ref=ref)
        return ModelSpec(path=reader.local_path(value))
    if not isinstance(value, dict):
        reader.add(path, "a model reference, a local path or a mapping", value)
        return None
    name = reader.field(value, "name", path, coerce.text)
    version = reader.field(value, "version", path, coerce.version)
    model_type = reader.field(value, "type", path, coerce.text, "custom_model")
    if model_type not in MODEL_TYPES:
        reader.add(join_path(path, "type"), "one of " + ", ".join(sorted(MODEL_TYPES)), model_type)
        model_type = "custom_model"
    local = _path_field(reader, value, path)
    ref = None
    if isinstance(local, str) and is_ref(local):
        ref, local = ref_or_none(reader, local, join_path(path, "path")), None
    if local is None and ref is None and name is None:
        reader.add(path, message="a model needs a path, a reference or a name and version")
    elif local is None and ref is None and name is not None:
        raw = f"azureml:{name}:{version}" if version else f"azureml:{name}@latest"
        ref = AzureMLRef(raw=raw, name=name, version=version, label=None if version else "latest")
    return ModelSpec(name=name, version=version, path=local, ref=ref, type=model_type)


def _path_field(reader: Reader, data: dict[str, Any], parent: str) -> str | None:
    """``path`` (current) or ``local_path`` (2021-05), resolved to an absolute path."""
    for key in ("path", "local_path"):
        if data.get(key) is not None:
            value = reader.field(data, key, parent, coerce.text)
            if value is None:
                return None
            return value if is_ref(value) else reader.local_path(value)
    return None


def code(reader: Reader, data: dict[str, Any], parent: str = "") -> CodeSpec | None:
    """``code_configuration``: ``code`` as a string or ``{local_path: ...}``, and ``scoring_script``."""
    config = reader.mapping(data, "code_configuration", parent)
    if config is None:
        return None
    path = join_path(parent, "code_configuration")
    script = reader.field(config, "scoring_script", path, coerce.text, required=True)
    raw_code = config.get("code")
    code_path = join_path(path, "code")
    local: str | None = None
    ref: AzureMLRef | None = None
    if raw_code is None:
        reader.add(code_path, message="required field is missing (the folder holding the scoring script)")
    elif isinstance(raw_code, dict):
        local = _path_field(reader, raw_code, code_path)
        if local is None:
            reader.add(join_path(code_path, "local_path"), message="required field is missing")
    elif isinstance(raw_code, str) and raw_code.strip():
        if is_ref(raw_code):
            ref = ref_or_none(reader, raw_code, code_path)
        else:
            local = reader.local_path(raw_code)
    else:
        reader.add(code_path, "a folder path or a code reference", raw_code)
    if local is not None and is_ref(local):
        ref, local = ref_or_none(reader, local, code_path), None
    _check_code_location(reader, local, script, path)
    if script is None:
        return None
    return CodeSpec(scoring_script=script, path=local, ref=ref)


def _check_code_location(reader: Reader, folder: str | None, script: str | None, path: str) -> None:
    """Record a code folder that is a root or a home, and a scoring script outside its folder."""
    if folder is not None and _too_broad(folder):
        reader.add(
            join_path(path, "code"),
            message=f"{folder!r} is the file system root or a home folder; the code folder is uploaded "
            "(Azure) or copied whole, so give the folder that holds the scoring script",
        )
    problem = _escapes(script, folder) if script is not None else None
    if problem:
        reader.add(join_path(path, "scoring_script"), message=problem)


def _too_broad(folder: str) -> bool:
    """Whether ``folder`` (absolute, normalized) is a file system root or somebody's home folder."""
    real = os.path.realpath(folder)
    homes = {os.path.realpath(os.path.expanduser("~")), "/root"}
    parent = os.path.dirname(real)
    return (
        os.path.dirname(real) == real  # "/" (or a drive root)
        or real in homes
        or real in ("/home", "/Users")
        or parent in ("/home", "/Users")  # /home/<user>, /Users/<user>
    )


def _escapes(script: str, folder: str | None) -> str | None:
    """Why ``script`` does not lie inside the code ``folder`` (absolute, ``..`` or a symlink out), or None."""
    if os.path.isabs(script) or script.startswith(("~", "\\")) or (len(script) > 1 and script[1] == ":"):
        return f"expected a path relative to the code folder, found the absolute path {script!r}"
    parts = script.replace("\\", "/").split("/")
    depth = 0
    for part in parts:
        depth += -1 if part == ".." else 0 if part in ("", ".") else 1
        if depth < 0:
            return f"{script!r} points outside the code folder (through '..')"
    if folder is not None and os.path.isdir(folder):
        root = os.path.realpath(folder)
        target = os.path.realpath(os.path.join(folder, script))
        if os.path.commonpath([root, target]) != root:
            return f"{script!r} points outside the code folder (through a symbolic link to {target!r})"
    return None


def environment(reader: Reader, data: dict[str, Any], parent: str = "") -> EnvironmentSpec | None:
    """``environment``: a reference string or an inline mapping (image or docker.image, conda_file)."""
    value, path = _entry(data, "environment", parent)
    if value is None:
        return None
    if isinstance(value, str):
        ref = ref_or_none(reader, value, path)
        if ref is None:
            return None
        return EnvironmentSpec(name=ref.name, version=ref.version, ref=ref)
    if not isinstance(value, dict):
        reader.add(path, "an environment reference or a mapping", value)
        return None
    name = reader.field(value, "name", path, coerce.text)
    version = reader.field(value, "version", path, coerce.version)
    image = reader.field(value, "image", path, coerce.text)
    docker = reader.mapping(value, "docker", path)
    if image is None and docker is not None:
        image = reader.field(docker, "image", join_path(path, "docker"), coerce.text)
    conda = reader.field(value, "conda_file", path, coerce.text)
    conda_file = reader.local_path(conda) if conda else None
    build = reader.mapping(value, "build", path)
    inference = reader.mapping(value, "inference_config", path) or {}
    if image is None and build is None:
        reader.add(path, message="an inline environment needs an image (or docker.image, or build)")
    return EnvironmentSpec(
        name=name, version=version, image=image, conda_file=conda_file, inference_config=dict(inference)
    )
