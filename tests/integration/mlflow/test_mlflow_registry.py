"""A registered model given as an MLflow registry URI (``--model models:/NAME/VERSION``)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from .conftest import training_frame

pytestmark = pytest.mark.slow

DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: clf-mlflow
endpoint_name: clf-endpoint
type: model
model: azureml:clf@latest
settings:
  mini_batch_size: 2
"""


def _register(tracking_uri: str, artifacts: Path) -> object:
    """Fit a small classifier and register it as version 1 of ``clf`` in the MLflow registry (its
    artifacts in ``artifacts``, not in ./mlruns of the current folder)."""
    mlflow = pytest.importorskip("mlflow")
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    from sklearn.linear_model import LogisticRegression

    frame = training_frame()
    model = LogisticRegression().fit(frame, [0, 0, 0, 1, 1, 1])
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.create_experiment("mlendpoints-test", artifact_location=artifacts.as_uri())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_run(experiment_id=experiment):
            mlflow_sklearn.log_model(model, name="model", registered_model_name="clf")
    return model


def test_score_with_a_model_from_an_mlflow_registry(tmp_path):
    tracking_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    model = _register(tracking_uri, tmp_path / "artifacts")
    (tmp_path / "deployment.yml").write_text(DEPLOYMENT)
    (tmp_path / "in").mkdir()
    frames = []
    for i in range(3):
        frame = pd.DataFrame({"x1": [float(i), 5.0 - i], "x2": [1.0, float(i % 2)]})
        frame.to_csv(tmp_path / "in" / f"part-{i}.csv", index=False)
        frames.append(frame)
    cli = str(Path(sys.executable).with_name("mlendpoints"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLENDPOINTS_CACHE_DIR": str(tmp_path / "cache")}
    args = [cli, "score", "--deployment", str(tmp_path / "deployment.yml"), "--model", "models:/clf/1",
            "--input", str(tmp_path / "in"), "--workers", "1"]  # fmt: skip

    done = subprocess.run([*args, "--output", str(tmp_path / "out")], capture_output=True, text=True, env=env,
                          timeout=600)  # fmt: skip

    assert done.returncode == 0, done.stderr
    expected = [
        f"{row} {prediction} part-{i}.csv"
        for i, frame in enumerate(frames)
        for row, prediction in enumerate(model.predict(frame))
    ]
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected
    # Downloaded once per version into the cache; a second job reuses it.
    cached = [p for p in (tmp_path / "cache").rglob("MLmodel")]
    assert len(cached) == 1
    again = subprocess.run([*args, "--output", str(tmp_path / "out2")], capture_output=True, text=True,
                           env=env, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [p for p in (tmp_path / "cache").rglob("MLmodel")] == cached


def test_an_unknown_registry_version_fails_naming_the_uri(tmp_path):
    tracking_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    _register(tracking_uri, tmp_path / "artifacts")
    (tmp_path / "deployment.yml").write_text(DEPLOYMENT)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x1,x2\n1.0,0.0\n")
    cli = str(Path(sys.executable).with_name("mlendpoints"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "MLENDPOINTS_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [cli, "score", "--deployment", str(tmp_path / "deployment.yml"), "--model", "models:/clf/7",
         "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "models:/clf/7" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
