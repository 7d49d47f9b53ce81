"""Batch invoke request bodies and per-invocation overrides of a deployment's settings.

:func:`batch_invoke_body` builds the current body (``InputData`` / ``OutputData``),
:func:`batch_invoke_body_2021` the 2021 one (``dataset`` / ``outputDataset``);
:class:`InvokeOverrides` holds the settings an invocation may override. Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ValidationError

InputType = Literal["uri_folder", "uri_file"]

_REST_TYPES = {"uri_folder": "UriFolder", "uri_file": "UriFile"}
#: lower-cased type names accepted: the YAML ones and the REST ones (``UriFolder``, ``urifolder``...)
_TYPE_NAMES = {**_REST_TYPES, **{rest.lower(): rest for rest in _REST_TYPES.values()}}


def iso_seconds(seconds: int | float | str) -> str:
    """30 -> ``"PT30S"``; an ISO 8601 string is passed through."""
    if isinstance(seconds, str):
        return seconds
    return f"PT{int(seconds)}S"


@dataclass(frozen=True)
class InvokeOverrides:
    """Per-invocation overrides of the deployment's settings (None: keep the deployment's)."""

    mini_batch_size: int | None = None
    instance_count: int | None = None
    max_retries: int | None = None
    timeout: int | str | None = None  # seconds, or ISO 8601
    error_threshold: int | None = None
    output_file_name: str | None = None
    logging_level: str | None = None

    def to_rest(self) -> dict[str, Any]:
        """The override fields of the invoke body's ``properties`` (batch-job REST names)."""
        out: dict[str, Any] = {}
        if self.mini_batch_size is not None:
            out["miniBatchSize"] = self.mini_batch_size
        if self.instance_count is not None:
            out["compute"] = {"instanceCount": self.instance_count, "isLocal": False}  # as the SDK sends it
        retry: dict[str, Any] = {}
        if self.max_retries is not None:
            retry["maxRetries"] = self.max_retries
        if self.timeout is not None:
            retry["timeout"] = iso_seconds(self.timeout)
        if retry:
            out["retrySettings"] = retry
        if self.error_threshold is not None:
            out["errorThreshold"] = self.error_threshold
        if self.output_file_name is not None:
            out["outputFileName"] = self.output_file_name
        if self.logging_level is not None:
            out["loggingLevel"] = self.logging_level.capitalize()
        return out


def _io_type(kind: str) -> str:
    try:
        return _TYPE_NAMES[kind.lower()]
    except KeyError:
        raise ValidationError(f"input/output type must be uri_folder or uri_file, not {kind!r}") from None


def _guess_type(uri: str) -> str:
    return "UriFolder" if uri.endswith("/") or "." not in uri.rsplit("/", 1)[-1] else "UriFile"


def batch_invoke_body(
    inputs: Mapping[str, str | Mapping[str, str]],
    outputs: Mapping[str, str | Mapping[str, str]] | None = None,
    overrides: InvokeOverrides | None = None,
) -> dict[str, Any]:
    """The current invoke body.

    ``inputs``/``outputs``: name -> URI, or name -> ``{"uri": ..., "type": "uri_folder"|"uri_file"}``.
    Produces ``{"properties": {"InputData": {name: {"JobInputType", "Uri"}}, "OutputData": {name:
    {"JobOutputType", "Uri"}}, ...overrides}}``.
    """
    if not inputs:
        raise ValidationError("a batch invocation needs at least one input")

    def entries(items: Mapping[str, Any], type_key: str) -> dict[str, Any]:
        out = {}
        for name, value in items.items():
            uri = value if isinstance(value, str) else value["uri"]
            kind = (
                _guess_type(uri)
                if isinstance(value, str) or not value.get("type")
                else _io_type(value["type"])
            )
            out[name] = {type_key: kind, "Uri": uri}
        return out

    props: dict[str, Any] = {"InputData": entries(inputs, "JobInputType")}
    if outputs:
        props["OutputData"] = entries(outputs, "JobOutputType")
    props.update((overrides or InvokeOverrides()).to_rest())
    return {"properties": props}


def batch_invoke_body_2021(
    *,
    input_uri: str | None = None,
    dataset_name: str | None = None,
    dataset_version: str | None = None,
    output_datastore_id: str | None = None,
    output_path: str | None = None,
    overrides: InvokeOverrides | None = None,
) -> dict[str, Any]:
    """The 2021 invoke body: ``dataset`` (DataUrl or DatasetVersion), ``outputDataset``, ``outputFileName``."""
    if input_uri:
        dataset: dict[str, Any] = {"dataInputType": "DataUrl", "path": input_uri}
    elif dataset_name:
        dataset = {"dataInputType": "DatasetVersion", "datasetName": dataset_name}
        if dataset_version:
            dataset["datasetVersion"] = dataset_version
    else:
        raise ValidationError("a 2021 batch invocation needs input_uri or dataset_name")
    props: dict[str, Any] = {"dataset": dataset}
    if output_datastore_id or output_path:
        props["outputDataset"] = {
            k: v for k, v in (("datastoreId", output_datastore_id), ("path", output_path)) if v
        }
    props.update((overrides or InvokeOverrides()).to_rest())
    return {"properties": props}
