"""An MLflow model without a scoring script, scored by the engine with the built-in driver."""

from __future__ import annotations

import pandas as pd
import pytest

from airflow_provider_mlendpoints.engine import run_local
from airflow_provider_mlendpoints.engine.job import OutputFormat, ScoringJob
from airflow_provider_mlendpoints.specs.model import BatchDeploymentSpec, ModelSpec

pytestmark = pytest.mark.slow


def _deployment(model_dir) -> BatchDeploymentSpec:
    return BatchDeploymentSpec(
        name="mlflow-no-code",
        model=ModelSpec(name="classifier", path=str(model_dir), type="mlflow_model"),
        code=None,
        mini_batch_size=2,
    )


def _inputs(folder, count: int = 5) -> list[pd.DataFrame]:
    folder.mkdir()
    frames = []
    for i in range(count):
        frame = pd.DataFrame({"x1": [float(i), 5.0 - i, 2.5], "x2": [1.0, 0.0, float(i % 2)]})
        frame.to_csv(folder / f"batch-{i}.csv", index=False)
        frames.append(frame)
    return frames


@pytest.mark.parametrize("registered", ["parent", "mlflow_folder"])
def test_run_local_with_the_mlflow_driver(mlflow_model, tmp_path, registered):
    # The model is mounted by its own name under AZUREML_MODEL_DIR, as on Azure, so MLmodel is one
    # (the MLflow folder registered) or two (its parent registered) levels below it.
    model_dir, model = mlflow_model
    frames = _inputs(tmp_path / "inputs")
    job = ScoringJob(
        deployment=_deployment(model_dir if registered == "parent" else model_dir / "iris-classifier"),
        input_uri=str(tmp_path / "inputs"),
        output_uri=str(tmp_path / "out"),
        input_type="file",  # Azure's MLflow driver gets file paths (uri_folder input)
    )

    summary = run_local(job, workers=2, log=lambda m: None)

    assert summary["status"] == "Completed"
    assert summary["items"]["succeeded"] == 5  # items are files
    # Azure's append_row format: no header, space-separated row, prediction, file_name.
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    expected = [
        f"{row} {prediction} batch-{i}.csv"
        for i, frame in enumerate(frames)
        for row, prediction in enumerate(model.predict(frame))
    ]
    assert lines == expected


@pytest.mark.parametrize("input_type", ["auto", "tabular"])  # auto: files predicted whole; tabular: row slices
def test_run_local_with_the_mlflow_driver_and_a_header(mlflow_model, tmp_path, input_type):
    model_dir, model = mlflow_model
    frames = _inputs(tmp_path / "inputs", count=2)
    job = ScoringJob(
        deployment=_deployment(model_dir),
        input_uri=str(tmp_path / "inputs"),
        output_uri=str(tmp_path / "out"),
        input_type=input_type,
        output_format=OutputFormat(header=True, separator=","),
    )
    summary = run_local(job, workers=1, log=lambda m: None)
    assert summary["status"] == "Completed"
    result = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert list(result.columns) == ["row", "prediction", "file_name"]
    assert result["prediction"].tolist() == [p for f in frames for p in model.predict(f)]
    # File or tabular slices: the same row numbers within each file and the same file names.
    assert result["row"].tolist() == [0, 1, 2, 0, 1, 2]
    assert result["file_name"].tolist() == ["batch-0.csv"] * 3 + ["batch-1.csv"] * 3
