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




def _image_model(folder):
    import mlflow.pyfunc
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    class Brightness(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return np.asarray(model_input, dtype="float64").reshape(len(model_input), -1).mean(axis=1)

    signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype("uint8"), (-1, 4, 4, 3))]))
    mlflow.pyfunc.save_model(str(folder / "brightness"), python_model=Brightness(), signature=signature)
    return folder


def test_images_are_predicted_whole_as_numpy_arrays(tmp_path):
    from PIL import Image

    model_dir = _image_model(tmp_path / "model-dir")
    inputs = tmp_path / "images"
    inputs.mkdir()
    for i, ext in enumerate(["png", "jpg", "bmp", "gif", "tiff"]):
        Image.new("RGB", (4, 4), color=(i * 10, i * 10, i * 10)).save(inputs / f"img-{i}.{ext}")
    job = ScoringJob(
        deployment=BatchDeploymentSpec(name="images", model=ModelSpec(path=str(model_dir), type="mlflow_model"),
                                       code=None, mini_batch_size=2),
        input_uri=str(inputs),
        output_uri=str(tmp_path / "out"),
        output_format=OutputFormat(header=True, separator=","),
    )
    summary = run_local(job, workers=1, log=lambda m: None)
    assert summary["items"] == {"total": 5, "succeeded": 5, "failed": 0}  # one item per image file
    result = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert result["file_name"].tolist() == [f"img-{i}.{ext}" for i, ext in enumerate(["png", "jpg", "bmp", "gif", "tiff"])]
    assert result["row"].tolist() == [0] * 5
    assert result["prediction"].round().tolist()[:2] == [0.0, 10.0]  # png exact; jpg lossy but close


def test_pqt_and_parquet_files_are_predicted_whole(mlflow_model, tmp_path):
    model_dir, model = mlflow_model
    inputs = tmp_path / "tables"
    inputs.mkdir()
    frames = [pd.DataFrame({"x1": [float(i), 1.0], "x2": [0.0, float(i)]}) for i in range(2)]
    frames[0].to_parquet(inputs / "a.pqt")
    frames[1].to_parquet(inputs / "b.parquet")
    job = ScoringJob(deployment=_deployment(model_dir), input_uri=str(inputs), output_uri=str(tmp_path / "out"),
                     output_format=OutputFormat(header=True, separator=","))
    summary = run_local(job, workers=1, log=lambda m: None)
    assert summary["input_kind"] == "file" and summary["items"]["total"] == 2
    result = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert result["file_name"].tolist() == ["a.pqt", "a.pqt", "b.parquet", "b.parquet"]
    assert result["prediction"].tolist() == [p for f in frames for p in model.predict(f)]
