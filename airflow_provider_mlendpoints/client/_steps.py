"""Multi-request procedures written once, run sync or async.

A procedure is a generator that yields steps and receives their results:
:class:`Call` (a zero-argument callable whose result may be awaitable: the
value of an operation-group method on either client) and :class:`Sleep`. A
step's exception is thrown back into the generator at the ``yield``. The
generator's return value is the procedure's result.

:func:`drive` runs a procedure with the executor's flavor: directly (sync
client) or as a coroutine (async client). That keeps loops with waits, such as
reconciling an invocation or waiting for a job, in one code path for both
clients, as the single-request operations are.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, overload

if TYPE_CHECKING:
    from ._executor import AsyncExecutor, SyncExecutor

R = TypeVar("R")


@dataclass(frozen=True)
class Call:
    """Run ``fn()``; await its result when it is awaitable."""

    fn: Callable[[], Any]


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` (``time.sleep`` or ``asyncio.sleep``)."""

    seconds: float


#: A procedure: yields steps, is sent each step's result (``Any``: whatever the step's call
#: returned), returns ``R``.
Procedure: TypeAlias = Generator[Call | Sleep, Any, R]


def _run_sync(gen: Procedure[R]) -> R:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            result: R = stop.value
            return result
        value, error = None, None
        try:
            if isinstance(step, Sleep):
                time.sleep(max(0.0, step.seconds))
            else:
                value = step.fn()
        except Exception as exc:
            error = exc


async def _run_async(gen: Procedure[R]) -> R:
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            result: R = stop.value
            return result
        value, error = None, None
        try:
            if isinstance(step, Sleep):
                await asyncio.sleep(max(0.0, step.seconds))
            else:
                value = step.fn()
                if inspect.isawaitable(value):
                    value = await value
        except Exception as exc:
            error = exc


@overload
def drive(executor: SyncExecutor, gen: Procedure[R]) -> R: ...
@overload
def drive(executor: AsyncExecutor, gen: Procedure[R]) -> Coroutine[Any, Any, R]: ...
def drive(executor: SyncExecutor | AsyncExecutor, gen: Procedure[R]) -> R | Coroutine[Any, Any, R]:
    """Run ``gen`` now (sync executor) or return a coroutine running it (async executor)."""
    if getattr(executor, "is_async", False):
        return _run_async(gen)
    return _run_sync(gen)
