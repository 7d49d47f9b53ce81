"""Offline Azure Machine Learning workspace emulator (like Azurite, for the ML REST API).

Run it with ``mlendpoints emulator [--host H] [--port P] [--token T] [--state DIR]
[--spec mfe.json|FOLDER]``, or build the ASGI app with
:func:`airflow_provider_mlendpoints.emulator.app.create_app`. Without
``--token`` the bearer token is the development token ``mlendpoints-dev-token``.
Never imports Airflow.

Serves, for any subscription / resource group / workspace (auto-created with a
default ``workspaceblobstore`` datastore), the ARM paths of API version
2024-04-01 under ``/subscriptions/{sub}/resourceGroups/{rg}/providers/
Microsoft.MachineLearningServices/workspaces/{ws}``: the workspace itself,
``batchEndpoints`` (+ ``deployments``, ``listkeys``), ``onlineEndpoints`` (+
``deployments``, ``listKeys``, ``regenerateKeys``, ``token``, ``getLogs``,
``skus``), ``jobs`` (get, list, cancel, delete), ``codes``/``models``/
``environments`` containers and versions (+ ``startPendingUpload``),
``datastores`` (+ ``listSecrets``) and ``computes``. Long-running operations
answer ``Azure-AsyncOperation`` / ``Location`` URLs below
``/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{loc}/``.

Data plane: ``POST /batch/{sub}/{rg}/{ws}/{endpoint}/jobs`` (a batch endpoint's
``scoringUri``) starts a job run by the self-hosted engine in a background
process; ``POST /online/{sub}/{rg}/{ws}/{endpoint}/score`` runs an online
deployment's scoring script.

Admin (never faulted; the emulator's token required, but for the health probe):
``/_emulator/health``, ``/_emulator/faults``, ``/_emulator/requests``,
``/_emulator/config``, ``/_emulator/reset``.

Safe to expose (:mod:`.bodies`, :mod:`.assets`): bodies are read as leniently as
the service reads them but limited in size and depth; names follow Azure's
rules; datastore paths stay inside their datastore; local paths and ``file://``
(inputs, outputs, code, models) only with ``--allow-local-paths``; ``--state``
records are mode 0600.

Settings the command line does not carry come from the environment:
``MLENDPOINTS_EMULATOR_PROVISIONING_DELAY`` (seconds, default 1),
``MLENDPOINTS_EMULATOR_FAULTS`` (JSON of :class:`.config.FaultSettings`),
``MLENDPOINTS_EMULATOR_STORAGE_CONNECTION_STRING`` /
``_STORAGE_ACCOUNT`` / ``_STORAGE_CONTAINER`` (the default datastore on blob
storage, e.g. Azurite; without a connection string it is a local folder),
``MLENDPOINTS_EMULATOR_TRAFFIC_SEED``, ``MLENDPOINTS_EMULATOR_TOKEN`` and
``MLENDPOINTS_EMULATOR_ALLOW_LOCAL_PATHS`` (``1``: as ``--allow-local-paths``).
"""
