"""``AZUREML_MODEL_DIR`` as Azure ML sets it.

Azure mounts the registered model *under* ``AZUREML_MODEL_DIR`` by its own
name: a model registered from a folder ``model/`` is at
``$AZUREML_MODEL_DIR/model/...``, one registered from a file ``m.pkl`` at
``$AZUREML_MODEL_DIR/m.pkl``. :func:`mount_model` reproduces that for one
scoring process: a private folder holding one entry named like the model (a
symlink to it; a copy only where symlinks are impossible). Self-contained (no
relative imports), so the emulator's online worker can use it too.
"""

from __future__ import annotations

import os
import shutil
import tempfile

MODEL_DIR_ENV = "AZUREML_MODEL_DIR"


def model_name(model_path: str) -> str:
    """The name the model is mounted under: the base name of its path."""
    return os.path.basename(os.path.normpath(os.path.abspath(model_path)))


def mount_model(model_path: str, root: str | None = None) -> str:
    """A folder for ``AZUREML_MODEL_DIR`` holding ``<model name>`` -> ``model_path``; returns the folder.

    ``root`` (created if missing, should be private to the caller) defaults to a new temporary
    folder; the caller removes it when done (``shutil.rmtree`` removes the link, not the model).
    """
    source = os.path.normpath(os.path.abspath(model_path))
    if not os.path.exists(source):
        raise FileNotFoundError(f"the model path does not exist: {source}")
    if root is None:
        root = tempfile.mkdtemp(prefix="azureml-models-")
    os.makedirs(root, exist_ok=True)
    entry = os.path.join(root, model_name(source))
    try:
        os.symlink(source, entry, target_is_directory=os.path.isdir(source))
    except (OSError, NotImplementedError):  # no symlinks here (some Windows setups): copy
        if os.path.isdir(source):
            shutil.copytree(source, entry, symlinks=True)
        else:
            shutil.copy2(source, entry)
    return root
