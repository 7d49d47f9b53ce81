"""Where the engine keeps its state below the job's output location.

```
{output}/<output_file_name>                  merged output (append_row)
{output}/_mlendpoints/plan.json              plan metadata: fingerprint, counts, shards, settings
{output}/_mlendpoints/manifest.jsonl         one JSON line per mini-batch, in input order
{output}/_mlendpoints/inputs.jsonl           one JSON line per input: name, size, version (fingerprint.py)
{output}/_mlendpoints/parts/<mini-batch-id>  one part per finished mini-batch (status line + rows)
{output}/_mlendpoints/claims/<mini-batch-id> which shard task scores it (see claims.py)
{output}/_mlendpoints/lease.json             which run uses the output now (see lease.py)
{output}/_mlendpoints/planning-<run>.json    which task of a run is planning it (see plan_once.py)
{output}/_mlendpoints/failed/<mini-batch-id>   marker: its part records a failure (see rescore.py)
{output}/_mlendpoints/rescored/<mini-batch-id> marker: a failed part of an earlier run, scored again
{output}/_mlendpoints/report/mini_batches.csv
{output}/_mlendpoints/report/summary.json
{output}/_mlendpoints/report/errors.txt
```
"""

from __future__ import annotations

from .redact import location

STATE_DIR = "_mlendpoints"
PLAN_KEY = f"{STATE_DIR}/plan.json"
MANIFEST_KEY = f"{STATE_DIR}/manifest.jsonl"
INPUTS_KEY = f"{STATE_DIR}/inputs.jsonl"
LEASE_KEY = f"{STATE_DIR}/lease.json"
PLANNING_LOCK_PREFIX = f"{STATE_DIR}/planning-"
#: the folders with one entry per mini-batch, named by its id
PARTS_PREFIX, CLAIMS_PREFIX, FAILED_PREFIX, RESCORED_PREFIX = (
    f"{STATE_DIR}/{folder}/" for folder in ("parts", "claims", "failed", "rescored")
)
REPORT_PREFIX = f"{STATE_DIR}/report/"
REPORT_CSV_KEY = f"{REPORT_PREFIX}mini_batches.csv"
SUMMARY_KEY = f"{REPORT_PREFIX}summary.json"
ERRORS_KEY = f"{REPORT_PREFIX}errors.txt"


def mini_batch_id(index: int) -> str:
    """The stable id of the mini-batch at ``index`` (input order): zero-padded so ids sort like indexes."""
    return f"{index:08d}"


def part_key(mb_id: str) -> str:
    """The storage key of a mini-batch's part."""
    return PARTS_PREFIX + mb_id


def join_uri(root: str, key: str) -> str:
    """A display location for ``key`` below ``root`` (query strings, which may hold secrets, dropped)."""
    return location(root).rstrip("/") + "/" + key


def is_lock_key(key: str) -> bool:
    """Whether ``key`` is the output's lease or a planning lock: who works on it, not what it holds."""
    return key == LEASE_KEY or key.startswith(PLANNING_LOCK_PREFIX)
