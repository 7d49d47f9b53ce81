"""Build the sample model and sample inputs for the digits batch deployment.

Trains a scikit-learn support vector classifier on the digits data set that
ships with scikit-learn (8x8 images of handwritten digits), pickles it into
``model/model.pkl`` beside this file (the deployment's ``model.path``), and
optionally writes sample inputs: one small text file per image (8 lines of 8
pixel values from 0 to 16) taken from images the model did not train on, plus
a CSV of the true labels.

    python dags/sample_deployment/build_model.py                      # model only
    python dags/sample_deployment/build_model.py --inputs DIR --count 300 --labels labels.csv

Both outputs are generated, not committed. Needs scikit-learn (the ``demo``
extra). Deterministic: running it again writes the same files.
"""

from __future__ import annotations

import argparse
import csv
import pickle
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE / "model"
TRAIN_IMAGES = 1200  # the rest of the 1,797 images are never seen in training


def build_model(model_dir: Path = MODEL_DIR, *, force: bool = False) -> Path:
    """Train and pickle the classifier; keep an existing model unless ``force``."""
    model_file = model_dir / "model.pkl"
    if model_file.exists() and not force:
        return model_file
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    digits = load_digits()
    model = SVC(gamma=0.001, C=10.0)
    model.fit(digits.data[:TRAIN_IMAGES], digits.target[:TRAIN_IMAGES])
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_file.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(model, f)
    tmp.replace(model_file)
    return model_file


def write_inputs(folder: Path, count: int, labels: Path | None = None) -> list[Path]:
    """Write ``count`` image files named ``digit_00000.txt``, ... (cycling over held-out images)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    held_out = list(range(TRAIN_IMAGES, len(digits.images)))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    rows = []
    for i in range(count):
        index = held_out[i % len(held_out)]
        path = folder / f"digit_{i:05d}.txt"
        image = digits.images[index].astype(int)
        path.write_text("\n".join(" ".join(str(v) for v in row) for row in image) + "\n", encoding="utf-8")
        written.append(path)
        rows.append((path.name, int(digits.target[index])))
    if labels is not None:
        labels.parent.mkdir(parents=True, exist_ok=True)
        with open(labels, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["file_name", "label"])
            writer.writerows(rows)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="where model.pkl goes")
    parser.add_argument("--force", action="store_true", help="retrain even if model.pkl exists")
    parser.add_argument("--inputs", type=Path, default=None, help="folder to write sample input files to")
    parser.add_argument("--count", type=int, default=300, help="number of input files")
    parser.add_argument("--labels", type=Path, default=None, help="CSV of the inputs' true labels")
    args = parser.parse_args(argv)
    model_file = build_model(args.model_dir, force=args.force)
    print(f"model: {model_file}")
    if args.inputs is not None:
        files = write_inputs(args.inputs, args.count, args.labels)
        print(f"inputs: {len(files)} files in {args.inputs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
