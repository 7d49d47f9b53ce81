"""How a REST body names a spec's assets: the ``resolve`` hook of :mod:`.rest`.

It is called as ``resolve(asset_kind, part)`` with ``asset_kind`` one of ``"model"``, ``"code"``,
``"environment"``, ``"compute"`` and ``part`` the :class:`ModelSpec`, :class:`CodeSpec`,
:class:`EnvironmentSpec` or the compute's :class:`AzureMLRef`. It returns the id to put in the
body (an ARM id once local assets are uploaded), or None to leave the field out. The default,
:func:`default_resolver`, keeps references as written.
"""

from __future__ import annotations

from collections.abc import Callable

from .model import AzureMLRef, CodeSpec, EnvironmentSpec, ModelSpec

AssetPart = ModelSpec | CodeSpec | EnvironmentSpec | AzureMLRef
Resolver = Callable[[str, AssetPart], "str | None"]


def default_resolver(asset_kind: str, part: AssetPart) -> str | None:
    """Keep references as written; local assets become ``azureml:name:version`` when named, else the path."""
    if isinstance(part, AzureMLRef):
        return part.raw
    if part.ref is not None:
        return part.ref.raw
    if isinstance(part, ModelSpec | EnvironmentSpec) and part.name and part.version:
        return f"azureml:{part.name}:{part.version}"
    if isinstance(part, ModelSpec | CodeSpec):
        return part.path
    return None  # an inline environment has no id until it is registered
