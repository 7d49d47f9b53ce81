"""Parsing ``azureml:`` references and ARM ids into :class:`AzureMLRef`."""

from __future__ import annotations

import re

from .errors import Invalid
from .model import AzureMLRef

_REGISTRY = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/(?P<kind>[^/]+)/(?P<name>[^/]+)"
    r"(?:/(?:versions/(?P<version>[^/]+)|labels/(?P<label>[^/]+)))?/?$"
)
_WORKSPACE_URI = re.compile(
    r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/workspaces/[^/]+|locations/[^/]+/workspaces/[^/]+)"
    r"/(?P<kind>[^/]+)/(?P<name>[^/]+)(?:/(?:versions/(?P<version>[^/]+)|labels/(?P<label>[^/]+)))?/?$"
)
_ARM = re.compile(
    r"^/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/Microsoft\.MachineLearningServices/"
    r"(?:workspaces/[^/]+|registries/(?P<registry>[^/]+))/(?P<kind>[^/]+)/(?P<name>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+))?/?$",
    re.IGNORECASE,
)
_SHORT = re.compile(r"^(?P<name>[^:@/\s]+)(?::(?P<version>[^:@/\s]+)|@(?P<label>[^:@/\s]+))?$")

EXPECTED = 'a reference like "azureml:name:1", "azureml:name@latest", "azureml://registries/..." or an ARM id'


def is_ref(text: str) -> bool:
    """Whether ``text`` is written as a reference (as opposed to a local path)."""
    return text.startswith(("azureml:", "/subscriptions/"))


def parse_ref(text: str) -> AzureMLRef:
    """Parse an ``azureml:`` reference or an ARM id.

    >>> parse_ref("azureml:my-model:1").version
    '1'
    >>> parse_ref("azureml:my-model@latest").label
    'latest'

    Raises :class:`~.errors.Invalid` (carrying what was expected) when ``text``
    is not a well-formed reference.
    """
    raw = text.strip()
    if raw.startswith("azureml://"):
        match = _REGISTRY.match(raw) or _WORKSPACE_URI.match(raw)
        if not match:
            raise Invalid(EXPECTED)
        groups = match.groupdict()
        return AzureMLRef(
            raw=raw,
            name=groups["name"],
            version=groups.get("version"),
            label=groups.get("label"),
            registry=groups.get("registry"),
        )
    body = raw[len("azureml:") :] if raw.startswith("azureml:") else raw
    if body.startswith("/subscriptions/"):
        match = _ARM.match(body)
        if not match:
            raise Invalid(EXPECTED)
        return AzureMLRef(raw=raw, name=match["name"], version=match["version"], registry=match["registry"])
    if not raw.startswith("azureml:"):
        raise Invalid(EXPECTED)
    match = _SHORT.match(body)
    if not match:
        raise Invalid(EXPECTED)
    return AzureMLRef(raw=raw, name=match["name"], version=match["version"], label=match["label"])


def parse_compute(text: str) -> AzureMLRef:
    """A compute target: ``azureml:name``, a bare ``name``, or an ARM id."""
    raw = text.strip()
    if not raw:
        raise Invalid('a compute name like "azureml:cpu-cluster"')
    if is_ref(raw):
        ref = parse_ref(raw)
        if ref.version or ref.label:
            raise Invalid('a compute name like "azureml:cpu-cluster" (no version or label)')
        return ref
    if not _SHORT.match(raw) or ":" in raw or "@" in raw:
        raise Invalid('a compute name like "azureml:cpu-cluster"')
    return AzureMLRef(raw=raw, name=raw)
