"""What the scoring script sees: model dir, environment, private cwd, init once, shutdown; logs."""

from __future__ import annotations

import json
import os

from airflow_provider_mlendpoints.engine import run_local
from airflow_provider_mlendpoints.engine.worker import child_setup

from .helpers import ECHO_SCRIPT, make_inputs, make_job, markers, write_script

ENV_SCRIPT = """
import json, os, uuid
import helper_module  # next to the script in the code folder

STATE = {}

def init():
    STATE["inits"] = STATE.get("inits", 0) + 1
    # as on Azure: the model registered from the folder "model" is at $AZUREML_MODEL_DIR/model
    STATE["model"] = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.txt")).read()
    STATE["listing"] = sorted(os.listdir(os.environ["AZUREML_MODEL_DIR"]))

def run(mini_batch):
    open("scratch.txt", "w").write("private")  # relative to the private working dir
    return [json.dumps({
        "model_dir": os.environ["AZUREML_MODEL_DIR"], "model": STATE["model"], "cwd": os.getcwd(),
        "flavor": os.environ.get("FLAVOR"), "inits": STATE["inits"], "pid": os.getpid(),
        "helper": helper_module.VALUE, "listing": STATE["listing"],
    }) for _ in mini_batch]

def shutdown():
    open(os.path.join(os.environ["MARK_DIR"], f"shutdown-{os.getpid()}-{uuid.uuid4().hex}"), "w").close()
"""


def test_script_sees_model_dir_env_private_cwd_and_init_once(tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARK_DIR", str(marks))
    code = write_script(tmp_path, ENV_SCRIPT)
    (code / "helper_module.py").write_text("VALUE = 'helped'\n")
    job = make_job(tmp_path, code, make_inputs(tmp_path, 12), mini_batch_size=1,
                   environment_variables={"FLAVOR": "vanilla"})
    run_local(job, workers=2, log=lambda line: None)
    rows = [json.loads(line) for line in (tmp_path / "out" / "predictions.csv").read_text().splitlines()]
    assert len(rows) == 12
    model_dirs = {r["model_dir"] for r in rows}
    assert len(model_dirs) == len({r["pid"] for r in rows})  # one private AZUREML_MODEL_DIR per process
    assert str(tmp_path / "model") not in model_dirs
    assert not any(os.path.exists(d) for d in model_dirs)  # removed afterwards ...
    assert (tmp_path / "model" / "weights.txt").read_text() == "42"  # ... but never the model
    assert {tuple(r["listing"]) for r in rows} == {("model",)}  # holds only the model, by its name
    assert {r["model"] for r in rows} == {"42"}
    assert {r["flavor"] for r in rows} == {"vanilla"}
    assert {r["helper"] for r in rows} == {"helped"}
    assert {r["inits"] for r in rows} == {1}  # init() once per process
    cwds = {r["cwd"] for r in rows}
    assert len(cwds) == len({r["pid"] for r in rows})  # one private working dir per process
    assert all(os.path.realpath(c) != os.path.realpath(os.getcwd()) for c in cwds)
    assert not any(os.path.exists(c) for c in cwds)  # removed afterwards
    shut_down = {int(name.split("-")[1]) for name in markers(marks, "shutdown-")}
    assert {r["pid"] for r in rows} <= shut_down and len(shut_down) <= 2  # shutdown() in every process


def test_model_path_goes_to_the_child_not_the_environment(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    model_file = tmp_path / "m" / "model.pkl"
    model_file.parent.mkdir()
    model_file.write_text("x")
    setup = child_setup(make_job(tmp_path, code, make_inputs(tmp_path, 1), model=model_file), {"input_kind": "file"})
    assert setup["model_path"] == str(model_file)
    assert "AZUREML_MODEL_DIR" not in setup["env"]  # each child mounts the model in a folder of its own


AZURE_FILE_MODEL_SCRIPT = """
import os

def init():
    global WEIGHT
    # unchanged from Azure's online samples: a model registered from one file sits at $AZUREML_MODEL_DIR/<file>
    WEIGHT = open(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "sklearn_regression_model.pkl")).read()

def run(mini_batch):
    return [f"{os.path.basename(p)} {WEIGHT}" for p in mini_batch]
"""

AZURE_FOLDER_MODEL_SCRIPT = """
import glob, os

def init():
    global WEIGHT, FOUND
    # unchanged from Azure's batch samples (mnist: join(..., "model"); heart classifier: glob("/*/")[0])
    WEIGHT = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.txt")).read()
    FOUND = os.path.basename(os.path.dirname(glob.glob(os.environ["AZUREML_MODEL_DIR"] + "/*/")[0]))

def run(mini_batch):
    return [f"{os.path.basename(p)} {WEIGHT} {FOUND}" for p in mini_batch]
"""


def test_azure_script_finds_a_file_model_by_its_name(tmp_path):
    code = write_script(tmp_path, AZURE_FILE_MODEL_SCRIPT)
    model_file = tmp_path / "registered" / "sklearn_regression_model.pkl"
    model_file.parent.mkdir()
    model_file.write_text("7")
    job = make_job(tmp_path, code, make_inputs(tmp_path, 3), model=model_file)
    run_local(job, workers=1, log=lambda line: None)
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert len(lines) == 3 and all(line.endswith(" 7") for line in lines)


def test_azure_script_finds_a_folder_model_by_its_name(tmp_path):
    code = write_script(tmp_path, AZURE_FOLDER_MODEL_SCRIPT)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 3))  # the model folder is tmp_path / "model"
    run_local(job, workers=2, log=lambda line: None)
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert len(lines) == 3 and all(line.endswith(" 42 model") for line in lines)


def test_mlflow_model_without_code_uses_the_builtin_driver(tmp_path):
    job = make_job(tmp_path, None, make_inputs(tmp_path, 1))
    setup = child_setup(job, {"input_kind": "file"})
    engine_dir = os.path.dirname(os.path.abspath(child_setup.__code__.co_filename))
    assert setup["script_path"] == os.path.join(engine_dir, "mlflow_driver.py")
    assert setup["code_dir"] == engine_dir


def test_logging_level_controls_verbosity(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    inputs = make_inputs(tmp_path, 4)
    warn: list[str] = []
    run_local(make_job(tmp_path, code, inputs, logging_level="warning"), workers=1, log=warn.append)
    assert warn == []
    debug: list[str] = []
    run_local(make_job(tmp_path, code, inputs, logging_level="debug", job_kw={"existing_output": "overwrite"}),
              workers=1, log=debug.append)
    assert any("attempt 1 in process" in line for line in debug)
    assert any("mini-batches (100%)" in line and "items/s" in line for line in debug)
