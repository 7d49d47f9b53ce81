"""Build the MLflow model and the tabular inputs of the digits endpoint's MLflow deployment.

Trains a scikit-learn logistic regression on the digits data set (64 pixel
columns ``p0`` ... ``p63``), saves it as an MLflow model with an input
signature into ``mlflow-model/`` beside this file (``mlflow-deployment.yml``'s
``model.path``), and writes CSV inputs: one row per held-out image.

    python dags/sample_batch_endpoint/build_mlflow_model.py [--inputs DIR --rows 40]

Generated, not committed. Needs scikit-learn and mlflow (``mlflow`` and
``demo`` extras). Deterministic; an existing model is kept.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE / "mlflow-model"
TRAIN_IMAGES = 1200
COLUMNS = [f"p{i}" for i in range(64)]


def build_mlflow_model(model_dir: Path = MODEL_DIR, *, force: bool = False) -> Path:
    """Train and save the MLflow model (atomically: a half-written folder is never left behind)."""
    if (model_dir / "MLmodel").exists() and not force:
        return model_dir
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    digits = load_digits()
    frame = pd.DataFrame(digits.data[:TRAIN_IMAGES], columns=COLUMNS)
    model = LogisticRegression(max_iter=2000).fit(frame, digits.target[:TRAIN_IMAGES])
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mlflow-model-", dir=model_dir.parent))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            model,
            str(staging / "model"),
            serialization_format="cloudpickle",
            signature=infer_signature(frame, model.predict(frame)),
        )
    if model_dir.exists():
        shutil.rmtree(model_dir)
    (staging / "model").replace(model_dir)
    shutil.rmtree(staging, ignore_errors=True)
    return model_dir


def write_tabular_inputs(folder: Path, rows: int = 40, files: int = 2) -> list[Path]:
    """Write ``files`` CSV files with ``rows`` held-out images in total (header ``p0..p63``)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    held_out = list(range(TRAIN_IMAGES, len(digits.data)))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    per_file = max(1, rows // files)
    for f in range(files):
        path = folder / f"digits_{f:03d}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for i in range(f * per_file, (f + 1) * per_file):
                writer.writerow([int(v) for v in digits.data[held_out[i % len(held_out)]]])
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--inputs", type=Path, default=None, help="folder for CSV inputs")
    parser.add_argument("--rows", type=int, default=40)
    args = parser.parse_args(argv)
    print(f"model: {build_mlflow_model(args.model_dir, force=args.force)}")
    if args.inputs is not None:
        print(f"inputs: {len(write_tabular_inputs(args.inputs, args.rows))} files in {args.inputs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
