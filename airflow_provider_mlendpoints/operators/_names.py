"""The public Azure-mode operators of each flavour module: one list for the lazy package namespace
(:mod:`airflow_provider_mlendpoints.operators`) and for each module's ``__all__``."""

BATCH_OPERATORS = (
    "CreateAmlComputeOperator",
    "CreateOrUpdateBatchDeploymentOperator",
    "CreateOrUpdateBatchEndpointOperator",
    "DeleteBatchDeploymentOperator",
    "DeleteBatchEndpointOperator",
    "DownloadBatchJobResultsOperator",
    "GetBatchDeploymentOperator",
    "GetBatchEndpointOperator",
    "InvokeBatchEndpointOperator",
    "SetBatchDefaultDeploymentOperator",
)
ONLINE_OPERATORS = (
    "CreateOrUpdateOnlineDeploymentOperator",
    "CreateOrUpdateOnlineEndpointOperator",
    "DeleteOnlineDeploymentOperator",
    "DeleteOnlineEndpointOperator",
    "GetOnlineDeploymentLogsOperator",
    "GetOnlineEndpointCredentialsOperator",
    "InvokeOnlineEndpointOperator",
    "SetOnlineTrafficOperator",
)
