"""Batch scoring script for the digits classifier (Azure ML batch deployment contract).

``init()`` runs once per scoring process and loads the model as Azure mounts it:
the model was registered from the folder ``model/``, so it is at
``$AZUREML_MODEL_DIR/model/model.pkl``; ``run(mini_batch)`` gets a list of input
file paths and returns one line per file: ``"<file name> <predicted digit>"``.

Each input file is one 8x8 grayscale image: 64 integers from 0 to 16, on 8
lines of 8 (any whitespace works). A file that cannot be read raises, so the
mini-batch is retried and, when its retries run out, its files count as failed
items against the deployment's error_threshold.
"""

from __future__ import annotations

import os
import pickle

import numpy as np

model = None


def init():
    global model
    # AZUREML_MODEL_DIR holds the registered model under its own name (the folder "model").
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.pkl")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {path}; build it with: python dags/sample_deployment/build_model.py")
    with open(path, "rb") as f:
        model = pickle.load(f)


def _read_image(path: str) -> np.ndarray:
    with open(path, encoding="utf-8") as f:
        values = f.read().split()
    if len(values) != 64:
        raise ValueError(f"{os.path.basename(path)}: expected 64 pixel values (8x8), found {len(values)}")
    return np.asarray([float(v) for v in values]).reshape(1, 64)


def run(mini_batch):
    images = np.vstack([_read_image(path) for path in mini_batch])
    predictions = model.predict(images)
    return [
        f"{os.path.basename(path)} {int(digit)}" for path, digit in zip(mini_batch, predictions, strict=True)
    ]
