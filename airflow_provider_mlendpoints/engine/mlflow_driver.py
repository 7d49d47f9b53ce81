"""Built-in scoring script for MLflow models deployed without one (``code_configuration`` left out).

Like the driver Azure ML generates for MLflow batch deployments:

- ``init()`` loads the pyfunc model from ``AZUREML_MODEL_DIR`` (the folder
  holding ``MLmodel``: the folder itself or up to three levels below it; as on
  Azure the model sits under its own name, ``$AZUREML_MODEL_DIR/<model>/MLmodel``,
  and a model folder may hold the MLflow model a level or two further down);
- ``run(mini_batch)`` reads each file by extension (``.csv``/``.tsv``,
  ``.parquet``/``.pq``/``.pqt``, ``.jsonl``/``.json`` as JSON lines, ``.json`` also as a
  JSON array of records) into a DataFrame, or an image (``.png``, ``.jpg``/``.jpeg``,
  ``.tiff``/``.tif``, ``.bmp``, ``.gif``, with Pillow) into a numpy array (shaped and typed
  by a tensor signature, else ``uint8`` with a batch axis of 1); predicts each file whole
  (one model call per file), and returns one row per input row (per prediction row for an
  image) with the columns ``row`` (the row's index within its file),
  ``prediction`` and ``file_name`` (the file's base name). A tabular mini-batch
  (a DataFrame) is predicted as is; its ``attrs`` may name the source file
  (``attrs["file"]``) and the slice's first row (``attrs["start"]``), which
  then fill ``file_name`` and offset ``row``; without them ``file_name`` is
  empty and ``row`` counts from 0. Columns named
  in the model's input signature are cast to its types first, as Azure does.

A prediction with several outputs per row (a 2-D array, or a DataFrame with
several columns) is kept as a list in the ``prediction`` cell.

mlflow is an optional extra: ``pip install 'airflow-provider-mlendpoints[mlflow]'``.
This module imports it only in :func:`init`. It is self-contained (no relative
imports), so the engine may load it by file path like any scoring script.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

MODEL_DIR_ENV = "AZUREML_MODEL_DIR"
INSTALL_HINT = "pip install 'airflow-provider-mlendpoints[mlflow]'"
OUTPUT_COLUMNS = ["row", "prediction", "file_name"]

_model: Any = None
_input_types: dict[str, Any] = {}
_tensor_spec: tuple[Any, tuple[int, ...]] | None = None  # (dtype, shape) of a tensor input signature


def find_model_folder(model_dir: str, max_depth: int = 3) -> str:
    """The folder holding ``MLmodel``: ``model_dir`` itself or the one folder up to ``max_depth`` levels below it."""
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"{MODEL_DIR_ENV} is not a folder: {model_dir}")
    level = [model_dir]
    for _ in range(max_depth + 1):
        found = sorted(d for d in level if os.path.isfile(os.path.join(d, "MLmodel")))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValueError(
                f"several MLflow models below {model_dir}: {', '.join(found)}; keep one per model folder"
            )
        level = [
            entry.path
            for folder in level
            for entry in sorted(os.scandir(folder), key=lambda e: e.name)
            if entry.is_dir() and not entry.name.startswith(".")
        ]
    raise FileNotFoundError(
        f"no MLflow model (an MLmodel file) in {model_dir} or the folders below it; a deployment "
        "without code_configuration needs an MLflow model"
    )


def init() -> None:
    """Load the MLflow pyfunc model from ``AZUREML_MODEL_DIR``."""
    global _model, _input_types, _tensor_spec
    model_dir = os.environ.get(MODEL_DIR_ENV)
    if not model_dir:
        raise RuntimeError(f"{MODEL_DIR_ENV} is not set: the deployment has no model")
    # the model is mounted as a symlink; mlflow refuses artifacts that resolve outside the folder it was given
    folder = os.path.realpath(find_model_folder(model_dir))
    try:
        import mlflow.pyfunc
    except ImportError as exc:
        raise ImportError(
            f"scoring an MLflow model without a scoring script needs mlflow, which is not installed ({exc}). "
            f"Install the mlflow extra: {INSTALL_HINT}"
        ) from exc
    try:
        _model = mlflow.pyfunc.load_model(folder)
    except ModuleNotFoundError as exc:
        raise ImportError(
            f"loading the MLflow model in {folder} needs the Python package {exc.name!r}, which is not "
            f"installed. Install it in the workers' environment ({INSTALL_HINT} covers mlflow, "
            "scikit-learn and skops)"
        ) from exc
    _input_types = _signature_types(_model)
    _tensor_spec = _signature_tensor(_model)


def _signature_tensor(model: Any) -> tuple[Any, tuple[int, ...]] | None:
    """(numpy dtype, shape) of a single-tensor input signature, or None."""
    try:
        schema = model.metadata.get_input_schema()
        if schema is None or not schema.is_tensor_spec():
            return None
        spec = schema.inputs[0]
        return spec.type, tuple(spec.shape)
    except Exception:  # noqa: BLE001 - no usable tensor signature: the image is given as read
        return None


def _signature_types(model: Any) -> dict[str, Any]:
    """Column name -> pandas dtype from a column-based input signature (empty without one)."""
    try:
        schema = model.metadata.get_input_schema()
        if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
            return {}
        return dict(zip(schema.input_names(), schema.pandas_types()))  # noqa: B905 - Python 3.8
    except Exception:  # noqa: BLE001 - a signature we cannot read is enforced by mlflow itself
        return {}


TABLE_EXTENSIONS = (".csv", ".tsv", ".parquet", ".pq", ".pqt", ".json", ".jsonl")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tiff", ".tif", ".bmp", ".gif")
#: Every file type the driver reads: Azure's table (CSV, Parquet, images) plus TSV and JSON.
READABLE_EXTENSIONS = TABLE_EXTENSIONS + IMAGE_EXTENSIONS


def read_input_file(path: str) -> Any:
    """Read one input file: a DataFrame for a table, a numpy array for an image (by extension)."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        return pd.read_csv(path)
    if ext == ".tsv":
        return pd.read_csv(path, sep="\t")
    if ext in (".parquet", ".pq", ".pqt"):
        return pd.read_parquet(path)
    if ext == ".jsonl":
        return pd.read_json(path, lines=True)
    if ext == ".json":
        return pd.read_json(path, lines=not _starts_with(path, b"["))
    if ext in IMAGE_EXTENSIONS:
        return read_image(path)
    raise ValueError(
        f"cannot read {os.path.basename(path)!r}: the MLflow driver reads {', '.join(READABLE_EXTENSIONS)} "
        "files; filter the input or give the deployment a scoring script"
    )


def read_image(path: str) -> Any:
    """An image as a numpy array shaped for the model, as Azure's driver gives it.

    With a tensor signature the array is cast to its type and reshaped to its shape (``-1``
    for the batch axis); without one it is ``uint8`` with a batch axis of 1 in front.
    """
    import numpy as np

    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(f"reading the image {os.path.basename(path)!r} needs Pillow: pip install pillow") from exc
    with Image.open(path) as image:
        array = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB", "RGBA") else image)
    if _tensor_spec is not None:
        dtype, shape = _tensor_spec
        return array.astype(dtype).reshape((-1, *shape[1:]) if shape and len(shape) > 1 else array.shape)
    return array.astype(np.uint8)[np.newaxis, ...]


def _starts_with(path: str, prefix: bytes) -> bool:
    """Whether the file's first non-blank bytes are ``prefix`` (a JSON array rather than JSON lines)."""
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(prefix)


def _prediction_values(prediction: Any, rows: int) -> list[Any]:
    """One prediction value per input row from whatever pyfunc ``predict`` returned."""
    values: list[Any]
    if isinstance(prediction, pd.DataFrame):
        values = prediction.iloc[:, 0].tolist() if prediction.shape[1] == 1 else prediction.values.tolist()
    elif isinstance(prediction, pd.Series) or hasattr(prediction, "tolist"):
        values = prediction.tolist()
    elif isinstance(prediction, dict):  # named outputs: one list per name
        names = list(prediction)
        columns = [list(prediction[n]) for n in names]
        values = [dict(zip(names, row)) for row in zip(*columns)]  # noqa: B905 - runs on Python 3.8
    else:
        values = list(prediction)
    if len(values) != rows:
        raise ValueError(f"the model returned {len(values)} predictions for {rows} rows")
    return values


def _score(frame: pd.DataFrame, file_name: str, first_row: int = 0) -> pd.DataFrame:
    if _model is None:
        raise RuntimeError("init() has not loaded a model")
    if frame.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    # As Azure's driver does: cast to the signature's types (CSV integers for double columns).
    casts = {name: dtype for name, dtype in _input_types.items() if name in frame.columns}
    if casts:
        frame = frame.astype(casts)
    values = _prediction_values(_model.predict(frame), len(frame))
    rows = range(first_row, first_row + len(frame))
    return pd.DataFrame({"row": rows, "prediction": values, "file_name": file_name})


def _score_image(array: Any, file_name: str) -> pd.DataFrame:
    """One image predicted whole: one output row per prediction row (usually one)."""
    if _model is None:
        raise RuntimeError("init() has not loaded a model")
    prediction = _model.predict(array)
    rows = len(prediction) if hasattr(prediction, "__len__") else 1
    values = _prediction_values(prediction, rows)
    return pd.DataFrame({"row": range(rows), "prediction": values, "file_name": file_name})


def run(mini_batch: Any) -> pd.DataFrame:
    """Predict each file of ``mini_batch`` (a list of paths) whole, one model call per file, or a DataFrame."""
    if isinstance(mini_batch, pd.DataFrame):
        source = str(mini_batch.attrs.get("file") or "")
        start = int(mini_batch.attrs.get("start") or 0)
        return _score(mini_batch.reset_index(drop=True), os.path.basename(source), start)
    parts = []
    for path in mini_batch:
        data = read_input_file(path)
        name = os.path.basename(path)
        parts.append(_score(data, name) if isinstance(data, pd.DataFrame) else _score_image(data, name))
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    return pd.concat(parts, ignore_index=True)
