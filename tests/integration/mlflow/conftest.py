"""A real small scikit-learn model saved with MLflow, shared by the MLflow tests."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

FEATURES = ["x1", "x2"]


def training_frame() -> pd.DataFrame:
    return pd.DataFrame({"x1": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "x2": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})


def save_sklearn_model(path: Path, serialization_format: str = "cloudpickle"):
    """Fit a logistic regression and save it as an MLflow model (with a signature) at ``path``."""
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    frame = training_frame()
    model = LogisticRegression().fit(frame, [0, 0, 0, 1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow_sklearn.save_model(
            model,
            str(path),
            serialization_format=serialization_format,
            signature=infer_signature(frame, model.predict(frame)),
        )
    return model


@pytest.fixture(scope="session")
def mlflow_model(tmp_path_factory):
    """(AZUREML_MODEL_DIR, fitted sklearn model): the MLflow model sits one folder below the dir."""
    model_dir = tmp_path_factory.mktemp("azureml-model-dir")
    model = save_sklearn_model(model_dir / "iris-classifier")
    return model_dir, model
