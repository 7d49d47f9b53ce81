"""Online scoring script: a linear model read from model.json (no third-party packages).

Azure ML's inference server calls ``init()`` once and ``run(raw_data)`` per
request. The answer names the deployment (``DEPLOYMENT_LABEL``, set in the
deployment YAML) and the model version, so a rollout can see who answered.
"""

import glob
import json
import logging
import os

logger = logging.getLogger("score")
MODEL = None


def init():
    global MODEL
    # AZUREML_MODEL_DIR holds the registered model under its own name: the file model.json when the
    # model was registered from that file, else the folder (model-1 or model-2 here), so take the
    # one folder in it, as Azure's own samples do.
    root = os.environ["AZUREML_MODEL_DIR"]
    path = os.path.join(root, "model.json")
    if not os.path.isfile(path):
        path = os.path.join(glob.glob(os.path.join(root, "*", ""))[0], "model.json")
    with open(path, encoding="utf-8") as handle:
        MODEL = json.load(handle)
    logger.info("init: loaded %s version %s", MODEL["name"], MODEL["version"])


def run(raw_data):
    data = json.loads(raw_data)["data"] if isinstance(raw_data, str | bytes) else raw_data["data"]
    weights, bias = MODEL["weights"], MODEL["bias"]
    predictions = [
        round(sum(w * float(x) for w, x in zip(weights, row, strict=True)) + bias, 6) for row in data
    ]
    logger.info("run: scored %d row(s)", len(predictions))
    return {
        "deployment": os.environ.get("DEPLOYMENT_LABEL", ""),
        "model_version": MODEL["version"],
        "predictions": predictions,
    }
