"""The built-in MLflow driver called directly: init() then run(mini_batch)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from airflow_provider_mlendpoints.engine import mlflow_driver

from .conftest import save_sklearn_model


@pytest.fixture
def driver(mlflow_model, monkeypatch):
    model_dir, _ = mlflow_model
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(model_dir))
    mlflow_driver.init()
    yield mlflow_driver
    monkeypatch.setattr(mlflow_driver, "_model", None)


def _inputs(tmp_path):
    a = pd.DataFrame({"x1": [0, 5, 1], "x2": [1, 0, 1]})  # integers: the signature wants doubles
    b = pd.DataFrame({"x1": [4.5, 0.5], "x2": [0.0, 1.0]})
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    return a, b


def test_scores_csv_files(driver, mlflow_model, tmp_path):
    _, model = mlflow_model
    a, b = _inputs(tmp_path)

    result = driver.run([str(tmp_path / "a.csv"), str(tmp_path / "b.csv")])

    assert list(result.columns) == ["row", "prediction", "file_name"]
    assert result["row"].tolist() == [0, 1, 2, 0, 1]
    assert result["file_name"].tolist() == ["a.csv"] * 3 + ["b.csv"] * 2
    expected = list(model.predict(a.astype(float))) + list(model.predict(b))
    assert result["prediction"].tolist() == expected
    assert set(expected) == {0, 1}


def test_scores_parquet_and_json_lines(driver, mlflow_model, tmp_path):
    _, model = mlflow_model
    frame = pd.DataFrame({"x1": [0.0, 5.0], "x2": [1.0, 0.0]})
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    frame.to_json(tmp_path / "j.jsonl", orient="records", lines=True)
    frame.to_json(tmp_path / "array.json", orient="records")

    result = driver.run([str(tmp_path / n) for n in ("p.parquet", "j.jsonl", "array.json")])

    assert result["file_name"].tolist() == ["p.parquet"] * 2 + ["j.jsonl"] * 2 + ["array.json"] * 2
    assert result["prediction"].tolist() == list(model.predict(frame)) * 3


def test_tabular_mini_batch(driver, mlflow_model):
    _, model = mlflow_model
    frame = pd.DataFrame({"x1": [5.0, 0.0, 4.0], "x2": [0.0, 1.0, 0.0]}, index=[10, 11, 12])
    result = driver.run(frame)
    assert result["row"].tolist() == [0, 1, 2]
    assert result["prediction"].tolist() == list(model.predict(frame))


def test_tabular_mini_batch_naming_its_source(driver):
    frame = pd.DataFrame({"x1": [5.0, 0.0], "x2": [0.0, 1.0]})
    frame.attrs.update({"file": "day/part-7.csv", "start": 100})
    result = driver.run(frame)
    assert result["row"].tolist() == [100, 101]
    assert result["file_name"].tolist() == ["part-7.csv"] * 2


def test_empty_file_and_empty_batch(driver, tmp_path):
    (tmp_path / "empty.csv").write_text("x1,x2\n")
    assert driver.run([str(tmp_path / "empty.csv")]).empty
    assert list(driver.run([]).columns) == ["row", "prediction", "file_name"]


def test_unsupported_extension(driver, tmp_path):
    (tmp_path / "table.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"cannot read 'table.xlsx'"):
        driver.run([str(tmp_path / "table.xlsx")])


def test_model_in_the_folder_itself(mlflow_model, monkeypatch, tmp_path):
    model_dir, _ = mlflow_model
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(model_dir / "iris-classifier"))
    mlflow_driver.init()
    _inputs(tmp_path)
    assert len(mlflow_driver.run([str(tmp_path / "a.csv")])) == 3
    monkeypatch.setattr(mlflow_driver, "_model", None)


def test_skops_format(tmp_path, monkeypatch):
    pytest.importorskip("skops")
    model = save_sklearn_model(tmp_path / "m" / "model", serialization_format="skops")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path / "m"))
    mlflow_driver.init()
    _inputs(tmp_path)
    result = mlflow_driver.run([str(tmp_path / "b.csv")])
    assert result["prediction"].tolist() == list(model.predict(pd.read_csv(tmp_path / "b.csv")))
    monkeypatch.setattr(mlflow_driver, "_model", None)


def test_find_model_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MLflow model"):
        mlflow_driver.find_model_folder(str(tmp_path))
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "MLmodel").write_text("flavors: {}\n")
    with pytest.raises(ValueError, match="several MLflow models"):
        mlflow_driver.find_model_folder(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        mlflow_driver.find_model_folder(str(tmp_path / "missing"))


def test_missing_mlflow_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.pyfunc", None)
    with pytest.raises(ImportError, match=r"airflow-provider-mlendpoints\[mlflow\]"):
        mlflow_driver.init()


def test_run_before_init(monkeypatch, tmp_path):
    monkeypatch.setattr(mlflow_driver, "_model", None)
    (tmp_path / "a.csv").write_text("x1,x2\n1,2\n")
    with pytest.raises(RuntimeError, match="init"):
        mlflow_driver.run([str(tmp_path / "a.csv")])


def test_no_model_dir(monkeypatch):
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    with pytest.raises(RuntimeError, match="AZUREML_MODEL_DIR"):
        mlflow_driver.init()
