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
    STATE["model"] = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.txt")).read()

def run(mini_batch):
    open("scratch.txt", "w").write("private")  # relative to the private working dir
    return [json.dumps({
        "model_dir": os.environ["AZUREML_MODEL_DIR"], "model": STATE["model"], "cwd": os.getcwd(),
        "flavor": os.environ.get("FLAVOR"), "inits": STATE["inits"], "pid": os.getpid(),
        "helper": helper_module.VALUE,
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
    assert {r["model_dir"] for r in rows} == {str(tmp_path / "model")}
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


def test_model_file_gives_its_folder(tmp_path):
    code = write_script(tmp_path, ECHO_SCRIPT)
    model_file = tmp_path / "m" / "model.pkl"
    model_file.parent.mkdir()
    model_file.write_text("x")
    setup = child_setup(make_job(tmp_path, code, make_inputs(tmp_path, 1), model=model_file), "file")
    assert setup["env"]["AZUREML_MODEL_DIR"] == str(model_file.parent)


def test_mlflow_model_without_code_uses_the_builtin_driver(tmp_path):
    job = make_job(tmp_path, None, make_inputs(tmp_path, 1))
    setup = child_setup(job, "file")
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
