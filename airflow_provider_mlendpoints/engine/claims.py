"""Claims: which shard task scores a mini-batch, so that idle shard tasks can help busy ones.

Azure hands mini-batches to whichever instance is free. Here each shard task owns a
contiguous range of mini-batches, and a shard task that has finished its own range
*helps*: it takes unfinished mini-batches of other shards from their back end, while
their owners work from the front, until the two meet. A slow worker, a slot that
starts late or a range of heavy inputs then no longer decides how long the job takes.

Every mini-batch is claimed before it is scored: an exclusive create of
``_mlendpoints/claims/<mini-batch id>`` holding ``{"shard", "worker", "beat"}`` (the
claiming shard, a token of the claiming task run, a heartbeat counter). Exactly one
shard task wins each claim, so no mini-batch is scored twice on purpose; a part is
still written atomically per mini-batch, so rows exist exactly once even if it were.

- An owner that finds a claim of its own shard by another worker takes it over: that
  was an earlier try of the same shard (an Airflow retry), now gone.
- An owner that finds a helper's claim leaves the mini-batch to the helper and, once
  its own work is done, waits for the helper's part. A helper refreshes its claims
  (the ``beat``) while it scores them; a claim whose content has not changed for
  :data:`STALE_AFTER` seconds, as seen by the owner's own clock, is stale (its helper
  died) and the owner takes the mini-batch over.
- A helper stops taking from a shard when it meets a claim of that shard's owner.

Claims are cleared whenever a job is planned (a new run or a resume).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from .layout import CLAIMS_PREFIX
from .storage.base import Storage, StorageError

#: Seconds without a heartbeat after which a helper's claim is taken over by the owner.
STALE_AFTER = 60.0
#: Seconds between heartbeats of the claims a shard task is scoring.
HEARTBEAT_EVERY = 10.0


def claim_key(mb_id: str) -> str:
    """The storage key of a mini-batch's claim."""
    return CLAIMS_PREFIX + mb_id


@dataclass(frozen=True)
class Claim:
    """Who claimed a mini-batch: the shard, the task run's token, the heartbeat counter."""

    shard: int
    worker: str
    beat: int = 0


class ClaimBook:
    """The claims of one shard task run: taking, taking over, heartbeats, staleness of others'.

    ``worker`` identifies this run of the shard task (a fresh token by default).
    """

    def __init__(self, out: Storage, shard: int, worker: str | None = None) -> None:
        self.out = out
        self.shard = shard
        self.worker = worker or uuid.uuid4().hex
        self._beats: dict[str, int] = {}  # claims being scored by this run -> their beat
        self._last_beat = time.monotonic()
        self._seen: dict[str, tuple[Claim, float]] = {}  # others' claims -> (content, since)

    def _encode(self, beat: int) -> bytes:
        return json.dumps({"shard": self.shard, "worker": self.worker, "beat": beat}).encode()

    def holder(self, mb_id: str) -> Claim | None:
        """The current claim of a mini-batch, or None."""
        key = claim_key(mb_id)
        if not self.out.exists(key):
            return None
        try:
            body = json.loads(self.out.read_bytes(key))
            return Claim(int(body["shard"]), str(body["worker"]), int(body.get("beat", 0)))
        except (ValueError, KeyError, TypeError):
            return Claim(-1, "unreadable")
        except StorageError:  # deleted between exists() and read (a re-plan)
            return None

    def try_claim(self, mb_id: str) -> Claim | None:
        """Claim a mini-batch. None when this run now holds it, else the claim that is there."""
        for _ in range(3):
            if self.out.create_exclusive(claim_key(mb_id), self._encode(0)):
                self._beats[mb_id] = 0
                return None
            holder = self.holder(mb_id)
            if holder is not None:
                return holder
        return self.holder(mb_id)

    def take_over(self, mb_id: str) -> None:
        """Claim a mini-batch whatever claim is there (an earlier try of this shard, a dead helper)."""
        self.out.write_bytes(claim_key(mb_id), self._encode(0))
        self._beats[mb_id] = 0
        self._seen.pop(mb_id, None)

    def done(self, mb_id: str) -> None:
        """This run finished scoring a mini-batch: stop its heartbeat (the claim stays)."""
        self._beats.pop(mb_id, None)

    def heartbeat(self, *, force: bool = False) -> None:
        """Refresh the claims this run is scoring, at most every :data:`HEARTBEAT_EVERY` seconds."""
        now = time.monotonic()
        if not force and now - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = now
        for mb_id in list(self._beats):
            self._beats[mb_id] += 1
            self.out.write_bytes(claim_key(mb_id), self._encode(self._beats[mb_id]))

    def is_stale(self, mb_id: str, claim: Claim) -> bool:
        """True when ``claim`` (another run's) has not changed for :data:`STALE_AFTER` s of our clock."""
        now = time.monotonic()
        seen = self._seen.get(mb_id)
        if seen is None or seen[0] != claim:
            self._seen[mb_id] = (claim, now)
            return False
        return now - seen[1] >= STALE_AFTER
