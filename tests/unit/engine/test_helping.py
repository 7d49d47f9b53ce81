"""Idle shard tasks help busy ones (claims): every mini-batch scored once, the owner sees its range done."""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_provider_mlendpoints.engine import claims as claims_module
from airflow_provider_mlendpoints.engine import collect_job, plan_job, score_shard
from airflow_provider_mlendpoints.engine.claims import ClaimBook, claim_key
from airflow_provider_mlendpoints.engine.layout import CLAIMS_PREFIX, part_key
from airflow_provider_mlendpoints.engine.storage.local import LocalStorage

from .helpers import make_inputs, make_job, markers, write_script

quiet = {"log": lambda line: None}

# Files f010 and up are slow (the second shard's range when 20 files are cut in two).
SLOW_SECOND_HALF = """
import os, time, uuid
MARK = os.environ["MARK_DIR"]

def run(mini_batch):
    rows = []
    for p in mini_batch:
        name = os.path.basename(p)
        open(os.path.join(MARK, f"run-{name}-{uuid.uuid4().hex}"), "w").close()
        if int(open(p).read()) >= 10:
            time.sleep(0.25)
        rows.append(f"{name} {open(p).read()}")
    return rows
"""

SLEEPY = """
import os, time

def run(mini_batch):
    time.sleep(float(os.environ.get("SLEEP", "0")))
    return [f"{os.path.basename(p)} {open(p).read()}" for p in mini_batch]
"""


def expected(n):
    return [f"f{i:03d}.txt {i}" for i in range(n)]


def slow_second_half_job(tmp_path, monkeypatch, files: int, instances: int):
    """A job of ``files`` one-file mini-batches over ``instances`` shards, planned: (job, shards, marks)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARK_DIR", str(marks))
    code = write_script(tmp_path, SLOW_SECOND_HALF)
    job = make_job(tmp_path, code, make_inputs(tmp_path, files), mini_batch_size=1, instance_count=instances)
    return job, plan_job(job), marks


def sleepy_job(tmp_path, files: int, instances: int):
    """A job of ``files`` inputs in mini-batches of 2 over ``instances`` shards, planned: (job, shards)."""
    code = write_script(tmp_path, SLEEPY)
    job = make_job(tmp_path, code, make_inputs(tmp_path, files), mini_batch_size=2, instance_count=instances)
    return job, plan_job(job)


def _run_concurrently(job, shards):
    results: dict[int, dict] = {}
    errors: list[BaseException] = []

    def target(shard):
        try:
            results[shard["shard"]] = score_shard(job, shard, **quiet)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(s,)) for s in shards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def test_a_finished_shard_helps_a_slow_one_and_nothing_is_scored_twice(tmp_path, monkeypatch):
    job, shards, marks = slow_second_half_job(tmp_path, monkeypatch, 20, 2)
    assert [(s["first"], s["last"]) for s in shards] == [(0, 9), (10, 19)]

    results = _run_concurrently(job, shards)
    fast, slow = results[0], results[1]
    assert fast["helped_mini_batches"] >= 3  # alone, the slow shard would take 2.5 s; the fast one idles
    assert slow["scored_by_helpers"] == fast["helped_mini_batches"]
    assert slow["scored"] + slow["scored_by_helpers"] == 10
    assert fast["scored"] + slow["scored"] == 20
    assert json.loads(json.dumps(fast)) == fast
    # every file went through run() exactly once
    runs = markers(marks, "run-")
    assert sorted(name.split("-")[1] for name in runs) == [f"f{i:03d}.txt" for i in range(20)]
    # the helper took the slow shard's range from its end
    helped = {int(n) for n in range(10, 20)
              if json.loads(LocalStorage(str(tmp_path / "out")).read_bytes(claim_key(f"{n:08d}")))["shard"] == 0}
    assert helped == set(range(20 - len(helped), 20))
    collect_job(job, **quiet)
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected(20)


def test_a_late_shard_finds_its_range_done_by_helpers(tmp_path):
    job, shards = sleepy_job(tmp_path, 12, 3)
    first = score_shard(job, shards[1], **quiet)
    assert first["scored"] == 6 and first["helped_mini_batches"] == 4
    for shard in (shards[0], shards[2]):
        late = score_shard(job, shard, **quiet)
        assert late["scored"] == 0 and late["skipped"] == 2
    collect_job(job, **quiet)
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected(12)


def test_help_others_false_scores_only_the_own_range(tmp_path):
    job, shards = sleepy_job(tmp_path, 8, 2)
    counts = score_shard(job, shards[0], help_others=False, **quiet)
    assert counts["scored"] == 2 and counts["helped_mini_batches"] == 0
    out = tmp_path / "out" / "_mlendpoints" / "parts"
    assert sorted(p.name for p in out.iterdir()) == ["00000000", "00000001"]


def test_an_earlier_try_of_the_same_shard_is_taken_over_at_once(tmp_path):
    code = write_script(tmp_path, SLEEPY)
    job = make_job(tmp_path, code, make_inputs(tmp_path, 4), mini_batch_size=1)
    (shard,) = plan_job(job)
    out = LocalStorage(str(tmp_path / "out"))
    ClaimBook(out, 0, worker="earlier-try").try_claim("00000002")  # it died before writing the part
    started = time.monotonic()
    counts = score_shard(job, shard, **quiet)
    assert time.monotonic() - started < claims_module.STALE_AFTER
    assert counts["scored"] == 4 and counts["scored_by_helpers"] == 0 and counts["taken_over"] == 0
    assert out.exists(part_key("00000002"))


def test_a_dead_helpers_claim_is_taken_over_after_it_goes_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(claims_module, "STALE_AFTER", 0.6)
    job, shards = sleepy_job(tmp_path, 8, 2)
    out = LocalStorage(str(tmp_path / "out"))
    ClaimBook(out, 1, worker="dead-helper").try_claim("00000001")  # a helper from shard 1 that died
    counts = score_shard(job, shards[0], help_others=False, **quiet)
    assert counts["taken_over"] == 1 and counts["scored"] == 2 and counts["scored_by_helpers"] == 0
    assert out.exists(part_key("00000001"))
    assert json.loads(out.read_bytes(claim_key("00000001")))["shard"] == 0


@pytest.mark.parametrize("check_each_up_to", [50, 0], ids=["part-by-part", "by-listing"])
def test_a_live_helper_keeps_its_claim_by_heartbeat(tmp_path, monkeypatch, check_each_up_to):
    """The owner waits for a helper that is still beating, however long, and takes nothing over."""
    from airflow_provider_mlendpoints.engine import shard as shard_module

    monkeypatch.setattr(claims_module, "STALE_AFTER", 0.6)
    monkeypatch.setattr(shard_module, "CHECK_EACH_UP_TO", check_each_up_to)
    job, shards = sleepy_job(tmp_path, 8, 2)
    out = LocalStorage(str(tmp_path / "out"))
    helper = ClaimBook(out, 1, worker="live-helper")
    assert helper.try_claim("00000001") is None
    stop = threading.Event()

    def beat_then_finish():
        for _ in range(10):  # 2 s of scoring, well past STALE_AFTER
            time.sleep(0.2)
            helper.heartbeat(force=True)
        # the helper runs the real engine on that one mini-batch, as its own shard task would
        score_shard(job, {"shard": 1, "first": 1, "last": 1}, help_others=False, **quiet)
        stop.set()

    thread = threading.Thread(target=beat_then_finish)
    thread.start()
    counts = score_shard(job, shards[0], help_others=False, **quiet)
    thread.join(30)
    assert stop.is_set()
    assert counts["taken_over"] == 0 and counts["scored"] == 1 and counts["scored_by_helpers"] == 1
    assert out.exists(part_key("00000001"))


def test_planning_again_clears_claims(tmp_path):
    job, shards = sleepy_job(tmp_path, 4, 2)
    score_shard(job, shards[0], help_others=False, **quiet)
    claims = tmp_path / "out" / CLAIMS_PREFIX
    assert sorted(p.name for p in claims.iterdir()) == ["00000000"]
    resumed = make_job(tmp_path, tmp_path / "code", tmp_path / "inputs", mini_batch_size=2,
                       instance_count=2, job_kw={"existing_output": "resume"})
    plan_job(resumed)
    assert not claims.exists() or not list(claims.iterdir())


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_three_shards_at_once_score_every_mini_batch_once(tmp_path, monkeypatch, order):
    job, shards, marks = slow_second_half_job(tmp_path, monkeypatch, 30, 3)
    results = _run_concurrently(job, shards if order == "forward" else shards[::-1])
    assert sum(r["scored"] for r in results.values()) == 30
    assert sum(r["helped_mini_batches"] for r in results.values()) == sum(
        r["scored_by_helpers"] for r in results.values())
    assert len(markers(marks, "run-")) == 30
    collect_job(job, **quiet)
    assert (tmp_path / "out" / "predictions.csv").read_text().splitlines() == expected(30)
