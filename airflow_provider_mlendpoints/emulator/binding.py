"""Binding a request body as the service does: property names and enum values are
case-insensitive, numbers may come as numeric strings.

:func:`bind` rewrites a parsed ARM body into the canonical spelling the routes
(and ``--spec`` validation) expect: ``"Properties"`` -> ``"properties"``,
``"authMode": "aadToken"`` -> ``"AADToken"``, ``"miniBatchSize": "5"`` -> ``5``.
Names it does not know stay as they are; so do the keys of free-form maps
(tags, environment variables, string properties, traffic) and the names of
inputs and outputs, whose values are bound in turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: Property names of the Azure ML REST API the emulator reads or echoes (canonical spelling).
KNOWN_NAMES: tuple[str, ...] = (
    "id", "name", "type", "location", "tags", "identity", "sku", "kind", "properties", "systemData",
    "principalId", "tenantId", "userAssignedIdentities", "clientId",
    "capacity", "tier", "size", "family",
    "description", "authMode", "defaults", "deploymentName", "traffic", "mirrorTraffic", "keys",
    "primaryKey", "secondaryKey", "publicNetworkAccess", "compute", "scoringUri", "swaggerUri",
    "model", "referenceType", "assetId", "codeConfiguration", "codeId", "scoringScript", "environmentId",
    "environmentVariables", "resources", "instanceCount", "instanceType", "maxConcurrencyPerInstance",
    "miniBatchSize", "outputAction", "outputFileName", "errorThreshold", "loggingLevel", "retrySettings",
    "maxRetries", "timeout", "endpointComputeType", "requestSettings", "maxConcurrentRequestsPerInstance",
    "maxQueueWait", "requestTimeout", "livenessProbe", "readinessProbe", "failureThreshold", "successThreshold",
    "initialDelay", "period", "scaleSettings", "scaleType", "minInstances", "maxInstances",
    "targetUtilizationPercentage", "pollingInterval", "appInsightsEnabled", "egressPublicNetworkAccess",
    "dataCollector", "provisioningState", "codeUri", "modelUri", "modelType", "dataUri", "dataType",
    "isAnonymous", "isArchived", "image", "condaFile", "build", "contextUri", "dockerfilePath", "osType",
    "computeType", "vmSize", "vmPriority", "minNodeCount", "maxNodeCount", "nodeIdleTimeBeforeScaleDown",
    "remoteLoginPortPublicAccess", "datastoreType", "accountName", "containerName", "endpoint", "protocol",
    "credentials", "credentialsType", "secrets", "secretsType", "key", "isDefault", "keyType", "keyValue",
    "tail", "containerType", "jobType", "status", "displayName", "experimentName", "computeId",
    "inputs", "outputs", "jobInputType", "jobOutputType", "uri", "mode", "dataset", "dataInputType",
    "path", "datasetName", "datasetVersion", "outputDataset", "datastoreId", "pendingUploadId",
    "pendingUploadType", "flavors", "jobName", "stage", "autoDeleteSetting", "intellectualProperty",
)

#: Enums the emulator reads, canonical values by property name (the service binds them case-insensitively).
ENUMS: dict[str, tuple[str, ...]] = {
    "authMode": ("Key", "AMLToken", "AADToken"),
    "loggingLevel": ("Info", "Warning", "Debug"),
    "publicNetworkAccess": ("Enabled", "Disabled"),
    "egressPublicNetworkAccess": ("Enabled", "Disabled"),
    "outputAction": ("SummaryOnly", "AppendRow"),
    "endpointComputeType": ("Managed", "Kubernetes", "AzureMLCompute"),
    "scaleType": ("Default", "TargetUtilization"),
    "referenceType": ("Id", "DataPath", "OutputPath"),
    "keyType": ("Primary", "Secondary"),
    "containerType": ("StorageInitializer", "InferenceServer"),
    "dataType": ("uri_file", "uri_folder", "mltable"),
    "jobInputType": ("literal", "uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model"),
    "jobOutputType": ("uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model"),
    "modelType": ("custom_model", "mlflow_model", "triton_model"),
    "datastoreType": ("AzureBlob", "AzureDataLakeGen1", "AzureDataLakeGen2", "AzureFile"),
    "computeType": ("AmlCompute", "ComputeInstance", "Kubernetes", "AKS", "VirtualMachine", "Databricks"),
    "osType": ("Linux", "Windows"),
    "dataInputType": ("DataUrl", "DatasetVersion"),
}

#: Integer properties the service also takes as numeric strings (``"4"``).
INTEGERS = frozenset({
    "capacity", "instanceCount", "maxConcurrencyPerInstance", "miniBatchSize", "errorThreshold", "maxRetries",
    "maxConcurrentRequestsPerInstance", "failureThreshold", "successThreshold", "minInstances", "maxInstances",
    "targetUtilizationPercentage", "minNodeCount", "maxNodeCount", "tail",
})

#: Maps whose keys are the user's own (never renamed); their values are plain.
FREE_FORM = frozenset({"tags", "environmentVariables", "traffic", "mirrorTraffic", "flavors"})
#: Maps of user-named objects: keys kept, each value bound.
NAMED_OBJECTS = frozenset({"inputs", "outputs", "userAssignedIdentities"})
#: Identity types, canonical spelling.
IDENTITY_TYPES = ("None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned")
_INTEGER_TEXT = re.compile(r"^\s*[-+]?\d+\s*$")


def _integer(value: Any) -> Any:
    """``int`` of a numeric string, anything else unchanged."""
    if isinstance(value, str) and _INTEGER_TEXT.match(value):
        return int(value)
    return value


class Binder:
    """Canonical spelling of names, enum values and numbers (see the module docstring)."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        self.names = {name.lower(): name for name in (*extra_names, *KNOWN_NAMES)}
        self.enums = {field: {v.lower(): v for v in values} for field, values in ENUMS.items()}

    def bind(self, body: Any, *, structured_inner_properties: bool = False) -> Any:
        """The bound copy of ``body``; ``structured_inner_properties`` when ``properties.properties``
        is an object of named settings (a compute's) rather than a string map."""
        return self._value(body, None, 0, structured_inner_properties)

    def _value(self, value: Any, field: str | None, depth: int, structured: bool) -> Any:
        if isinstance(value, list):
            return [self._value(item, None, depth + 1, structured) for item in value]
        if isinstance(value, dict):
            return self._object(value, depth, structured)
        if field is None:
            return value
        if field in INTEGERS:
            return _integer(value)
        if field == "type" and isinstance(value, str):
            squashed = value.replace(" ", "").lower()
            return {t.lower(): t for t in IDENTITY_TYPES}.get(squashed, value)
        enum = self.enums.get(field)
        if enum is not None and isinstance(value, str):
            return enum.get(value.lower(), value)
        return value

    def _object(self, obj: dict[str, Any], depth: int, structured: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            name = self.names.get(key.lower(), key) if isinstance(key, str) else key
            if name in out:  # the same property twice in two spellings: the later one wins, as in the service
                del out[name]
            if name in ("traffic", "mirrorTraffic") and isinstance(value, dict):
                out[name] = {k: _integer(v) for k, v in value.items()}
            elif name in FREE_FORM or (name == "properties" and depth == 1 and not structured):
                out[name] = value
            elif name in NAMED_OBJECTS and isinstance(value, dict):
                out[name] = {k: self._value(v, None, depth + 2, structured) for k, v in value.items()}
            else:
                out[name] = self._value(value, name, depth + 1, structured)
        return out
