"""Reconciling a batch invocation whose answer was lost: find the job, never replay blindly.

The API takes no client-chosen job name, so a replayed POST would start a
second job. The POST itself is therefore sent with the ``non_idempotent``
pipeline option: the retry policy replays it only after a 429 (the service
refused it), never after a transport error (the aiohttp transport reports a
connection the server closed after receiving the request like one that was
never made, so the error class cannot tell them apart). Any failure other
than a 429/408 or another 4xx is *ambiguous*: a 5xx, a read timeout or a
dropped connection may come after the service created the job, or before a
slow front end has even passed the request on.

:func:`reconciled_invocation` (used by ``invoke_batch_endpoint(reconcile=True)``,
the default) resolves an ambiguous failure instead of raising it:

1. Every attempt carries one client-generated correlation id (or the caller's
   ``correlation_id``), stamped into the body as
   ``properties.tags["mlendpoints.correlation_id"]`` and
   ``properties.properties["mlendpoints.correlation_id"]`` (the ``tags`` and
   ``properties`` of the service's ``BatchJob`` model, which the Azure SDK
   sends the same way).
2. After an ambiguous failure the client lists the workspace's jobs (ARM
   ``GET jobs``) every ``settle_delay`` seconds for a *look window*: after a
   read timeout, or a 502/504 from a gateway that gave up waiting, the
   client's own read timeout plus ``look_margin`` (a request that outlived
   the read timeout may still be on its way through a slow front end: the
   window gives it as long again, plus the margin, to show up); after an
   immediate 5xx or a dropped connection, ``look_margin``. ``look_for``,
   when given, replaces both. A job carrying our correlation id is ours,
   whatever else the service recorded. A job carrying *another* correlation
   id is someone else's invocation and is never a candidate. Jobs carrying
   none are candidates when they are batch-invocation jobs of this endpoint
   (``properties.properties["azureml.endpointname"]``) and, when known, of
   this deployment (``azureml.deploymentname``), created
   (``systemData.createdAt``, else ``creationContext.createdAt``) no earlier
   than the first attempt's start minus ``clock_skew`` seconds (a job whose
   creation time is not reported stays a candidate), whose input URIs and
   (when the request names them) output URIs are exactly the request's
   (``azureml://`` URIs compared as datastore + path; trailing ``/``
   ignored; a request whose inputs are not URIs, e.g. a 2021
   DatasetVersion input, is not filtered on inputs). Jobs carrying our id
   win over unmarked ones.
3. Jobs carrying our id: the first created is adopted (logged at WARNING as
   a reattach) and returned; any other one is a duplicate started by another
   of our attempts: it is cancelled and reported (WARNING), never returned.
   While earlier attempts are still unaccounted for (an attempt whose answer
   was lost may land later), the client keeps watching for as long as the
   adopted job took to appear, counted from the last attempt, plus the
   margin, and cancels every further job carrying our id. Exactly one
   unmarked candidate: adopted. Several: :class:`DuplicateInvocationError`
   naming them; nothing is started. None within the window: the POST is
   sent again, at most ``max_attempts`` POSTs in all; when they are used up,
   :class:`InvocationOutcomeUnknownError`. When a later POST is answered,
   the job list is read once more and any earlier job carrying our id is
   cancelled and reported.
4. If the job list itself cannot be read, :class:`InvocationOutcomeUnknownError`
   is raised: the client never POSTs again without having looked.

429 and 408 answers mean the service refused the request: it is sent again
after Retry-After (capped by ``RetrySettings.max_retry_after``) without
looking, within ``max_attempts``. Any other 4xx raises at once.

Limits (why this is safe, and where it is not airtight): an attempt that
reaches the service later than its look window (and, after an adoption,
later than the watch) can still start a job, carrying our correlation id, so
it can be found and cancelled by anyone; a job started by another client in
the same window on the same endpoint, deployment, inputs and outputs that
carries no correlation id is indistinguishable from ours, which is why
several candidates raise instead of picking one; and if the service dropped
the invocation's ``tags``/``properties`` (the emulator keeps them; that the
live service copies them onto the job follows from its ``BatchJob`` model
and was not verified against Azure here), matching falls back to the other
criteria alone and duplicates cannot be told apart. The list is read in full
(``nextLink``), up to ``max_listed`` jobs; a workspace with more raises
:class:`InvocationOutcomeUnknownError` rather than guess.
"""

from __future__ import annotations

import copy
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._steps import Call, Procedure, Sleep
from .config import RetrySettings
from .datastore_blob import parse_datastore_uri
from .errors import (
    RESPONSE_TIMEOUT,
    DuplicateInvocationError,
    InvocationOutcomeUnknownError,
    MLEndpointsError,
    ServiceError,
    ThrottledError,
    ValidationError,
)
from .resources import Job

LOG = logging.getLogger("airflow_provider_mlendpoints.client.reconcile")
#: Key of the correlation id in the invocation's ``tags`` and ``properties``.
CORRELATION_KEY = "mlendpoints.correlation_id"
#: azure-core's default read timeout (seconds), used when the client was given none.
DEFAULT_READ_TIMEOUT = 300.0


@dataclass(frozen=True)
class ReconcileSettings:
    """Bounds of invoke reconciliation (see the module docstring).

    :param max_attempts: POSTs at most (the first included).
    :param settle_delay: seconds between looks at the job list.
    :param look_margin: seconds the look window lasts beyond the client's read timeout (after a
        timeout), or in all (after an immediate 5xx or a dropped connection).
    :param look_for: the look window in seconds, whatever the failure.
    :param clock_skew: seconds of tolerance between this machine's clock and the service's.
    :param max_listed: give up (outcome unknown) rather than read more jobs than this.
    """

    max_attempts: int = 3
    settle_delay: float = 3.0
    look_margin: float = 10.0
    look_for: float | None = None
    clock_skew: float = 120.0
    max_listed: int = 10000

    def window(self, read_timeout: float, *, slow: bool) -> float:
        """Seconds to keep looking for the job after an ambiguous failure (``slow``: a read
        timeout or a gateway timeout, when the request may still be held by a front end)."""
        if self.look_for is not None:
            return self.look_for
        return read_timeout + self.look_margin if slow else self.look_margin


def _norm_uri(uri: Any) -> str:
    text = str(uri or "").strip()
    if text.startswith("azureml://"):
        try:
            datastore, path = parse_datastore_uri(text)
        except ValidationError:
            return text.rstrip("/")
        return f"azureml-datastore:{datastore}/{path.strip('/')}"
    return text.rstrip("/")


def _ci(mapping: Any, name: str) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    for key, value in mapping.items():
        if str(key).lower() == name.lower():
            return value
    return None


def _uris(entries: Any) -> set[str]:
    out = set()
    if isinstance(entries, Mapping):
        for spec in entries.values():
            uri = _ci(spec, "uri") if isinstance(spec, Mapping) else None
            if uri:
                out.add(_norm_uri(uri))
    return out


def request_uris(body: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(input URIs, output URIs) an invocation body names (normalized; outputs may be empty)."""
    props = _ci(body, "properties") or {}
    inputs = _uris(_ci(props, "InputData"))
    outputs = _uris(_ci(props, "OutputData"))
    if not inputs:
        dataset = _ci(props, "dataset") or {}
        path = _ci(dataset, "path") or _ci(dataset, "uri")
        if path:
            inputs = {_norm_uri(path)}
    return inputs, outputs


def with_correlation_id(body: Mapping[str, Any], correlation_id: str) -> dict[str, Any]:
    """A copy of ``body`` whose ``properties.tags`` and ``properties.properties`` carry the id."""
    out = copy.deepcopy(dict(body))
    props = out.setdefault("properties", {})
    for field in ("tags", "properties"):
        bag = props.get(field)
        bag = dict(bag) if isinstance(bag, Mapping) else {}
        bag[CORRELATION_KEY] = correlation_id
        props[field] = bag
    return out


def _parse_time(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if "." in value:  # the service may write 7 fractional digits
        head, _, tail = value.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits):]
        value = f"{head}.{digits[:6]}{rest}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def job_created_at(job: Job) -> float | None:
    """POSIX time the job was created (``systemData.createdAt`` or ``creationContext.createdAt``)."""
    created = _parse_time((job.raw.get("systemData") or {}).get("createdAt"))
    if created is None:
        created = _parse_time((job.properties.get("creationContext") or {}).get("createdAt"))
    return created


def _correlation_of(job: Job) -> str | None:
    for field in ("tags", "properties"):
        value = _ci(job.properties.get(field), CORRELATION_KEY)
        if value:
            return str(value)
    return None


def matching_jobs(
    jobs: Iterable[Job],
    *,
    endpoint_name: str,
    deployment_name: str | None,
    since: float,
    inputs: set[str],
    outputs: set[str],
    correlation_id: str,
) -> list[Job]:
    """The jobs an invocation may have started (see the module docstring, step 2).

    Jobs carrying ``correlation_id`` are returned alone when there are any; otherwise the
    candidates carrying no correlation id at all that pass the endpoint, deployment, time and
    URI filters.
    """
    ours: list[Job] = []
    unmarked: list[Job] = []
    for job in jobs:
        marker = _correlation_of(job)
        if marker is not None:
            if marker == correlation_id:
                ours.append(job)  # the id is unique: ours however the service rewrote the rest
            continue  # another invocation's
        props = job.properties.get("properties") or {}
        endpoint = _ci(props, "azureml.endpointname")
        if not endpoint or str(endpoint).lower() != endpoint_name.lower():
            continue
        deployment = _ci(props, "azureml.deploymentname")
        if deployment_name and deployment and str(deployment).lower() != deployment_name.lower():
            continue
        created = job_created_at(job)
        if created is not None and created < since:
            continue
        if inputs and _uris(job.inputs) != inputs:
            continue
        if outputs and _uris(job.outputs) != outputs:
            continue
        unmarked.append(job)
    return ours or unmarked


def _classify(exc: Exception) -> str:
    """``refused`` (nothing started: 429, 408), ``ambiguous`` (5xx, no answer) or ``fatal``."""
    if not isinstance(exc, MLEndpointsError):
        return "fatal"
    if isinstance(exc, ThrottledError) or exc.status in (408, 429):
        return "refused"
    if isinstance(exc, ServiceError) and (exc.status is None or exc.status >= 500):
        return "ambiguous"
    return "fatal"


@dataclass
class _Invocation:
    """What one reconciled invocation knows: its id, filters, and the attempts whose fate is open."""

    endpoint_name: str
    deployment_name: str | None
    correlation_id: str
    inputs: set[str]
    outputs: set[str]
    settings: ReconcileSettings
    list_jobs: Callable[[int], Any]
    cancel: Callable[[str], Any]
    first_start: float = 0.0
    open_attempts: int = 0  # ambiguous attempts not yet matched to a job
    last_send: float = 0.0  # time.monotonic() of the latest POST
    first_send: float = 0.0
    cancelled: tuple[str, ...] = ()

    def unknown(self, message: str, attempts: int) -> InvocationOutcomeUnknownError:
        return InvocationOutcomeUnknownError(
            f"batch invocation of {self.endpoint_name!r}: {message}; look for a job with "
            f"{CORRELATION_KEY}={self.correlation_id} before invoking again",
            correlation_id=self.correlation_id,
            attempts=attempts,
        )

    def jobs(self, attempts: int, last: Exception | None) -> Procedure[list[Job]]:
        """The listed jobs (raises InvocationOutcomeUnknownError when the list cannot be read)."""
        try:
            jobs: list[Job] = yield Call(lambda: self.list_jobs(self.settings.max_listed + 1))
        except Exception as exc:
            raise self.unknown(f"the answer was lost and the job list could not be read ({exc})", attempts) from exc
        if len(jobs) > self.settings.max_listed:
            raise self.unknown(
                f"the answer was lost and the workspace lists more than {self.settings.max_listed} jobs", attempts
            ) from last
        return jobs

    def candidates(self, jobs: list[Job]) -> list[Job]:
        return matching_jobs(
            jobs,
            endpoint_name=self.endpoint_name,
            deployment_name=self.deployment_name,
            since=self.first_start - self.settings.clock_skew,
            inputs=self.inputs,
            outputs=self.outputs,
            correlation_id=self.correlation_id,
        )

    def ours(self, jobs: Iterable[Job]) -> list[Job]:
        """Jobs carrying our correlation id that were not cancelled as duplicates."""
        return [
            job for job in jobs if _correlation_of(job) == self.correlation_id and str(job.name) not in self.cancelled
        ]

    def cancel_duplicates(self, keep: str, jobs: Iterable[Job]) -> Procedure[None]:
        """Cancel every live job carrying our id other than ``keep`` (each reported at WARNING)."""
        for job in jobs:
            name = str(job.name)
            if name == keep or name in self.cancelled:
                continue
            self.cancelled += (name,)
            try:
                yield Call(functools.partial(self.cancel, name))
            except Exception as exc:  # reported: a live duplicate must not pass unnoticed
                LOG.error(
                    "batch invocation of %s: job %s duplicates job %s (correlation id %s) and could not be "
                    "cancelled (%s); cancel it yourself",
                    self.endpoint_name, name, keep, self.correlation_id, exc,
                )  # fmt: skip
                continue
            LOG.warning(
                "batch invocation of %s: cancelled job %s, a duplicate of job %s started by an attempt whose "
                "answer was lost (correlation id %s)",
                self.endpoint_name, name, keep, self.correlation_id,
            )  # fmt: skip

    def look(self, window: float, attempts: int, last: Exception | None) -> Procedure[Job | None]:
        """Look for the job for ``window`` seconds; the adopted job, or None when none appeared."""
        deadline = time.monotonic() + window
        while True:
            jobs = yield from self.jobs(attempts, last)
            found = self.candidates(jobs)
            if any(_correlation_of(job) == self.correlation_id for job in found):
                marked = self.ours(found)
                if marked:
                    return (yield from self.adopt(marked, attempts, last))
                found = []  # only duplicates cancelled earlier: not candidates
            if len(found) == 1:
                LOG.warning(
                    "batch invocation of %s: reattached to job %s (no correlation id on it), started by an "
                    "attempt whose answer was lost",
                    self.endpoint_name, found[0].name,
                )  # fmt: skip
                return found[0]
            if len(found) > 1:
                names = sorted(str(j.name) for j in found)
                raise DuplicateInvocationError(
                    f"batch invocation of {self.endpoint_name!r}: the answer was lost and {len(names)} jobs "
                    f"match it ({', '.join(names)}); none was adopted and no other job was started",
                    job_names=names,
                    correlation_id=self.correlation_id,
                ) from last
            if time.monotonic() + self.settings.settle_delay > deadline:
                return None
            yield Sleep(self.settings.settle_delay)

    def adopt(self, marked: list[Job], attempts: int, last: Exception | None) -> Procedure[Job]:
        """Keep the first created of our jobs, cancel the others, and watch for late ones."""
        ordered = sorted(marked, key=lambda j: (job_created_at(j) or 0.0, str(j.name)))
        keep = ordered[0]
        LOG.warning(
            "batch invocation of %s: reattached to job %s, started by an attempt whose answer was lost "
            "(correlation id %s)",
            self.endpoint_name, keep.name, self.correlation_id,
        )  # fmt: skip
        yield from self.cancel_duplicates(str(keep.name), ordered[1:])
        self.open_attempts -= len(ordered)
        if self.open_attempts > 0:
            # Another lost attempt may still land: watch as long as this one took, from the last POST.
            took = time.monotonic() - self.first_send
            until = self.last_send + took + self.settings.look_margin
            while self.open_attempts > 0 and time.monotonic() < until:
                yield Sleep(min(self.settings.settle_delay, max(0.0, until - time.monotonic())))
                listed = yield from self.jobs(attempts, last)
                late = [job for job in self.ours(listed) if job.name != keep.name]
                yield from self.cancel_duplicates(str(keep.name), late)
                self.open_attempts -= len(late)
        return keep


def reconciled_invocation(
    post: Callable[[], Any],
    *,
    list_jobs: Callable[[int], Any],
    cancel: Callable[[str], Any],
    endpoint_name: str,
    deployment_name: str | None,
    body: Mapping[str, Any],
    correlation_id: str,
    settings: ReconcileSettings,
    retry: RetrySettings,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Procedure[Job]:
    """The reconciling invocation as a :mod:`._steps` procedure (sync and async); see the module docstring.

    ``post()`` sends the stamped body; ``list_jobs(limit)`` lists the workspace's jobs;
    ``cancel(name)`` requests a job's cancellation. ``read_timeout`` is the client's own.
    """
    inputs, outputs = request_uris(body)
    state = _Invocation(
        endpoint_name, deployment_name, correlation_id, inputs, outputs, settings, list_jobs, cancel
    )
    last: Exception | None = None
    last_kind = ""
    attempt = 0
    while attempt < settings.max_attempts:
        attempt += 1
        state.first_start = state.first_start or time.time()
        state.last_send = time.monotonic()
        state.first_send = state.first_send or state.last_send
        try:
            job: Job = yield Call(post)
        except Exception as exc:
            kind = _classify(exc)
            if kind == "fatal":
                raise
            last, last_kind = exc, kind
            if kind == "refused":
                if attempt < settings.max_attempts:
                    wait = getattr(exc, "retry_after", None)
                    if wait is None:
                        wait = min(retry.backoff_factor * 2**attempt, retry.backoff_max)
                    yield Sleep(min(float(wait), retry.max_retry_after))
                continue
            state.open_attempts += 1
            slow = getattr(exc, "code", None) == RESPONSE_TIMEOUT or getattr(exc, "status", None) in (502, 504)
            window = settings.window(read_timeout, slow=slow)
            LOG.warning(
                "batch invocation of %s: no answer (%s); looking for the job it may have started for %g s "
                "(correlation id %s)",
                endpoint_name, exc, window, correlation_id,
            )  # fmt: skip
            found = yield from state.look(window, attempt, last)
            if found is not None:
                return found
            LOG.warning(
                "batch invocation of %s: no job found for correlation id %s within %g s; the attempt "
                "started nothing so far",
                endpoint_name, correlation_id, window,
            )  # fmt: skip
            continue
        if state.open_attempts > 0 and getattr(job, "name", None):
            # An earlier, lost attempt may have landed meanwhile: keep the answered job, cancel that one.
            jobs = yield from state.jobs(attempt, last)
            yield from state.cancel_duplicates(str(job.name), state.ours(jobs))
        return job
    if last_kind == "refused" and last is not None:
        raise last  # the service refused the last attempt: nothing was started by it
    raise state.unknown(
        f"failed {attempt} time(s) (last: {last}); no job carrying its correlation id was found after the "
        "last attempt",
        attempt,
    ) from last
