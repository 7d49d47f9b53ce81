"""Using a deployed online endpoint: score a request, read a deployment's logs, hand its
credentials downstream.

Secrets: endpoint keys and tokens are registered with Airflow's secrets masker the moment the
client receives them (so they print as ``***``) and are never returned to XCom.
:class:`GetOnlineEndpointCredentialsOperator` hands them downstream only through an Airflow
Variable whose name Airflow treats as sensitive; its XCom holds a reference (the Variable's name).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from ..client.errors import NotFoundError
from ..compat import should_hide_value_for_key
from ..links import AzureMLDeploymentLink, AzureMLEndpointLink
from ._base import service_errors
from ._named import DeploymentOperatorBase, EndpointOperatorBase

if TYPE_CHECKING:
    from airflow.sdk import Context

CONTAINER_TYPES = ("InferenceServer", "StorageInitializer")


class InvokeOnlineEndpointOperator(EndpointOperatorBase):
    """Score a request with an online endpoint and return the response (JSON) to XCom.

    :param endpoint_name: the endpoint.
    :param request_file: a file whose content is the request body (e.g. ``sample-request.json``).
    :param data: the request instead: a JSON-able value (sent as JSON) or a string (sent as is).
    :param deployment_name: send to this deployment whatever the traffic split
        (``azureml-model-deployment`` header), e.g. to test green before it gets traffic.
    :param content_type: the request's content type.

    Authentication follows the endpoint's ``auth_mode`` (key, AML token or the connection's AAD
    identity); keys and tokens are masked and never logged or returned.
    """

    template_fields = ("endpoint_name", "request_file", "data", "deployment_name", "ml_endpoints_conn_id")
    operator_extra_links = (AzureMLEndpointLink(),)

    def __init__(
        self,
        *,
        request_file: str | None = None,
        data: Any = None,
        deployment_name: str | None = None,
        content_type: str = "application/json",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (request_file is None) == (data is None):
            raise ValueError("give exactly one of request_file and data")
        self.request_file = request_file
        self.data = data
        self.deployment_name = deployment_name
        self.content_type = content_type

    def execute(self, context: Context) -> Any:
        self.persist_links(context, "online", self.endpoint_name)
        if self.request_file is not None:
            path = Path(os.fspath(self.request_file))
            if not path.is_file():
                raise AirflowFailException(f"request_file {str(path)!r} does not exist")
            payload: Any = path.read_text(encoding="utf-8")
        else:
            payload = self.data
        target = f" (deployment {self.deployment_name})" if self.deployment_name else ""
        self.log.info("Scoring with online endpoint %r%s", self.endpoint_name, target)
        with service_errors(f"scoring with online endpoint {self.endpoint_name!r}"):
            try:
                result = self.client.score_online(
                    self.endpoint_name,
                    payload,
                    deployment_name=self.deployment_name or None,
                    content_type=self.content_type,
                )
            except NotFoundError as exc:
                raise AirflowFailException(f"online endpoint {self.endpoint_name!r}: {exc}") from exc
        text = json.dumps(result, default=str) if not isinstance(result, str) else result
        self.log.info("Response: %s", text if len(text) <= 2000 else text[:2000] + "...")
        return result


class GetOnlineDeploymentLogsOperator(DeploymentOperatorBase):
    """Fetch an online deployment's container logs; log them and return the lines.

    :param endpoint_name: / :param deployment_name: the deployment.
    :param container_type: ``InferenceServer`` (the scoring server) or ``StorageInitializer``
        (model and code download).
    :param tail: only the last ``tail`` lines (None: what the service returns).
    """

    template_fields = ("endpoint_name", "deployment_name", "container_type", "tail", "ml_endpoints_conn_id")
    operator_extra_links = (AzureMLDeploymentLink(),)

    def __init__(self, *, container_type: str = "InferenceServer", tail: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.container_type = container_type
        self.tail = tail

    def execute(self, context: Context) -> list[str]:
        self.persist_links(context, "online", self.endpoint_name, self.deployment_name)
        if self.container_type not in CONTAINER_TYPES:
            raise AirflowFailException(
                f"container_type must be one of {', '.join(CONTAINER_TYPES)}, not {self.container_type!r}"
            )
        tail = None if self.tail in (None, "") else int(self.tail)
        try:
            logs = self.client.online_deployments.get_logs(
                self.endpoint_name,
                self.deployment_name,
                self.container_type,
                tail,  # type: ignore[arg-type]
            )
        except NotFoundError as exc:
            raise AirflowFailException(
                f"online deployment {self.endpoint_name}/{self.deployment_name}: {exc}"
            ) from exc
        lines = logs.content.splitlines()
        self.log.info(
            "%d line(s) of %s logs of %s/%s:",
            len(lines),
            self.container_type,
            self.endpoint_name,
            self.deployment_name,
        )
        for line in lines:
            self.log.info("| %s", line)
        return lines


class GetOnlineEndpointCredentialsOperator(EndpointOperatorBase):
    """Fetch an online endpoint's key or token for a downstream task, never exposing it.

    The secret is registered with Airflow's secrets masker at once (every log line shows
    ``***``), is never logged, and is never returned to XCom. To hand it downstream it is written
    to the Airflow Variable ``variable_key``, whose name must be one Airflow treats as sensitive
    (it contains ``secret``, ``token``, ``api_key``, ``password``...: see ``[core]
    sensitive_var_conn_names``), so the UI hides it and ``Variable.get`` masks it in the reading
    task's logs too. The XCom is a reference only::

        {"endpoint_name", "credential_type", "variable_key", "scoring_uri", "expiry_time_utc"}

    Without ``variable_key`` nothing is stored (the task only checks that the credential can be
    obtained). Why a Variable and not XCom: XCom values are stored in the metadata database in
    clear text and shown in the UI unmasked; Variables with sensitive names are hidden in the UI
    and may live in a secrets backend.

    :param endpoint_name: the endpoint.
    :param credential_type: ``key`` (listKeys), ``token`` (AML token, for ``aml_token``
        endpoints) or ``auto`` (by the endpoint's auth mode).
    :param key_name: ``primary`` or ``secondary`` (for keys).
    :param variable_key: the Variable to write the secret to.
    """

    template_fields = ("endpoint_name", "variable_key", "ml_endpoints_conn_id")
    operator_extra_links = (AzureMLEndpointLink(),)

    def __init__(
        self,
        *,
        credential_type: str = "auto",
        key_name: str = "primary",
        variable_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if credential_type not in ("auto", "key", "token"):
            raise ValueError(f"credential_type must be auto, key or token, not {credential_type!r}")
        if key_name not in ("primary", "secondary"):
            raise ValueError(f"key_name must be primary or secondary, not {key_name!r}")
        self.credential_type = credential_type
        self.key_name = key_name
        self.variable_key = variable_key

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk import Variable
        from airflow.sdk.log import mask_secret

        if self.variable_key and not should_hide_value_for_key(self.variable_key):
            raise AirflowFailException(
                f"variable_key {self.variable_key!r} is not a name Airflow treats as sensitive; include "
                "'secret', 'token', 'api_key' or 'password' in it (or add it to [core] sensitive_var_conn_names)"
            )
        client = self.client
        try:
            endpoint = client.online_endpoints.get(self.endpoint_name)
        except NotFoundError as exc:
            raise AirflowFailException(f"online endpoint {self.endpoint_name!r} does not exist") from exc
        kind = self.credential_type
        if kind == "auto":
            mode = (endpoint.auth_mode or "Key").lower()
            if mode == "aadtoken":
                raise AirflowFailException(
                    f"online endpoint {self.endpoint_name!r} uses AAD tokens: score with your own Azure "
                    "identity (InvokeOnlineEndpointOperator does) instead of a stored credential"
                )
            kind = "token" if mode == "amltoken" else "key"
        expiry = None
        if kind == "key":
            keys = client.online_endpoints.list_keys(self.endpoint_name)
            secret = keys.primary_key if self.key_name == "primary" else keys.secondary_key
        else:
            token = client.online_endpoints.get_token(self.endpoint_name)
            secret, expiry = token.access_token, token.expiry_time_utc
        if not secret:
            raise AirflowFailException(f"online endpoint {self.endpoint_name!r} returned no {kind}")
        mask_secret(secret)  # again, in case the client was built without the masker
        if self.variable_key:
            Variable.set(
                self.variable_key,
                secret,
                description=f"{kind} of Azure ML online endpoint {self.endpoint_name} (written by Airflow)",
            )
            self.log.info("Stored the %s of %r in Variable %r", kind, self.endpoint_name, self.variable_key)
        else:
            self.log.info("Obtained the %s of %r (not stored: no variable_key)", kind, self.endpoint_name)
        return {
            "endpoint_name": self.endpoint_name,
            "credential_type": kind,
            "key_name": self.key_name if kind == "key" else None,
            "variable_key": self.variable_key or None,
            "scoring_uri": endpoint.scoring_uri,
            "expiry_time_utc": expiry,
        }


__all__ = ["GetOnlineDeploymentLogsOperator", "GetOnlineEndpointCredentialsOperator", "InvokeOnlineEndpointOperator"]
