"""In-process checks of small emulator pieces (no server)."""

from __future__ import annotations

import pytest

from airflow_provider_mlendpoints.emulator.arm_errors import ArmError
from airflow_provider_mlendpoints.emulator.config import EmulatorConfig, FaultSettings
from airflow_provider_mlendpoints.emulator.context import Emulator
from airflow_provider_mlendpoints.emulator.job_worker import parse_duration
from airflow_provider_mlendpoints.emulator.lro import finish_operation, new_operation, prune_operations
from airflow_provider_mlendpoints.emulator.routes_dataplane import parse_invocation
from airflow_provider_mlendpoints.emulator.store import Store


def test_store_persists_atomically_and_deletes_children(tmp_path):
    store = Store(tmp_path)
    store.put("/A/b", {"resource": {"x": 1}, "meta": {}})
    store.put("/a/B/c", {"resource": {"x": 2}, "meta": {}})
    store.put("/a/bc", {"resource": {"x": 3}, "meta": {}})
    assert [k for k, _ in store.children("/a")] == ["/a/b", "/a/bc"]
    assert not list((tmp_path / "records").glob("*.tmp"))
    again = Store(tmp_path)
    assert again.get("/a/b/C")["resource"] == {"x": 2}  # keys are case-insensitive
    again.delete("/a/b")
    assert again.get("/a/b/c") is None and again.get("/a/bc") is not None
    assert Store(tmp_path).list_keys() == ["/a/bc"]


def test_fault_settings_validation():
    assert FaultSettings.from_dict({"throttle_rate": 0.5}).throttle_rate == 0.5
    with pytest.raises(ValueError):
        FaultSettings.from_dict({"error_rate": -1})
    with pytest.raises(ValueError):
        FaultSettings.from_dict({"bogus": 1})


def test_parse_duration():
    assert parse_duration("PT30S") == 30
    assert parse_duration("PT5M") == 300
    assert parse_duration("P1DT1H") == 90000
    assert parse_duration(None, 7) == 7
    assert parse_duration("garbage", 9) == 9


def test_parse_invocation_current_and_2021_bodies():
    current = {"properties": {"InputData": {"in": {"JobInputType": "UriFile", "Uri": "/d/x.csv"}},
                              "OutputData": {"out": {"JobOutputType": "UriFolder", "Uri": "/o"}}}}
    inp, out, over = parse_invocation(current, "j")
    assert inp == {"name": "in", "type": "UriFile", "uri": "/d/x.csv"} and out == {"name": "out", "uri": "/o"} and over == {}
    with_overrides = {"properties": {**current["properties"], "miniBatchSize": 4, "outputFileName": "o.csv",
                                     "errorThreshold": 2, "retrySettings": {"maxRetries": 0}, "loggingLevel": "Debug",
                                     "compute": {"instanceCount": 3}}}
    assert parse_invocation(with_overrides, "j")[2] == {
        "miniBatchSize": 4, "outputFileName": "o.csv", "errorThreshold": 2, "retrySettings": {"maxRetries": 0},
        "loggingLevel": "Debug", "instanceCount": 3,
    }
    old = {"properties": {"dataset": {"dataInputType": "DataUrl", "path": "https://a.blob.core.windows.net/c/in"},
                          "outputDataset": {"datastoreId": "/subscriptions/s/.../datastores/store2", "path": "p"},
                          "miniBatchSize": 3, "compute": {"instanceCount": 2}, "retrySettings": {"maxRetries": 1}}}
    inp, out, over = parse_invocation(old, "j")
    assert inp["uri"] == "https://a.blob.core.windows.net/c/in"
    assert out["uri"] == "azureml://datastores/store2/paths/p"
    assert over == {"miniBatchSize": 3, "retrySettings": {"maxRetries": 1}, "instanceCount": 2}
    _, default_out, _ = parse_invocation({"properties": {"InputData": {"i": {"Uri": "/x"}}}}, "job1")
    assert default_out["uri"] == "azureml://datastores/workspaceblobstore/paths/azureml/job1/score/"
    with pytest.raises(ArmError):
        parse_invocation({"properties": {"InputData": {"a": {"Uri": "/x"}, "b": {"Uri": "/y"}}}}, "j")


def test_old_terminal_operations_are_pruned(tmp_path):
    emu = Emulator(EmulatorConfig(state_dir=tmp_path))
    done = new_operation(emu, "s", resource_key=None, kind="action", ready_at=0)
    running = new_operation(emu, "s", resource_key=None, kind="action", ready_at=None)
    finish_operation(emu, done, "Succeeded")
    assert prune_operations(emu, keep_seconds=-1) == 1
    assert emu.store.get(f"ops/{done}") is None and emu.store.get(f"ops/{running}") is not None


def test_data_asset_references_in_inputs():
    from airflow_provider_mlendpoints.emulator.assets import data_asset_ref

    arm = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/data/d/versions/1"
    assert data_asset_ref("azureml:d:1") == "azureml:d:1"
    assert data_asset_ref("azureml:d@latest") == "azureml:d@latest"
    assert data_asset_ref("azureml:" + arm) == arm
    assert data_asset_ref(arm) == arm
    assert data_asset_ref("azureml://datastores/workspaceblobstore/paths/in/") is None
    assert data_asset_ref("/tmp/in") is None and data_asset_ref("https://a.blob.core.windows.net/c/in") is None
    assert data_asset_ref("azureml:" + arm.replace("/data/", "/models/")) is None

