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


class _Cursor:
    """Where a running procedure stands: what to send in next (a value or an error), then its
    result. The drivers below differ only in how they perform a step."""

    def __init__(self, gen: Procedure[Any]) -> None:
        self.gen = gen
        self.value: Any = None
        self.error: BaseException | None = None
        self.result: Any = None

    def next_step(self) -> Call | Sleep | None:
        """Resume the procedure; its next step, or None once it returned (``result`` is set)."""
        try:
            step = self.gen.throw(self.error) if self.error is not None else self.gen.send(self.value)
        except StopIteration as stop:
            self.result = stop.value
            return None
        self.value, self.error = None, None
        return step


def run_sync(gen: Procedure[R]) -> R:
    cursor = _Cursor(gen)
    while (step := cursor.next_step()) is not None:
        try:
            cursor.value = _performed_sync(step)
        except Exception as exc:
            cursor.error = exc
    result: R = cursor.result
    return result


async def run_async(gen: Procedure[R]) -> R:
    cursor = _Cursor(gen)
    while (step := cursor.next_step()) is not None:
        try:
            cursor.value = await _performed(step)
        except Exception as exc:
            cursor.error = exc
    result: R = cursor.result
    return result


def _performed_sync(step: Call | Sleep) -> Any:
    if isinstance(step, Sleep):
        time.sleep(max(0.0, step.seconds))
        return None
    return step.fn()


async def _performed(step: Call | Sleep) -> Any:
    if isinstance(step, Sleep):
        await asyncio.sleep(max(0.0, step.seconds))
        return None
    value = step.fn()
    return await value if inspect.isawaitable(value) else value


@overload
def drive(executor: SyncExecutor, gen: Procedure[R]) -> R: ...
@overload
def drive(executor: AsyncExecutor, gen: Procedure[R]) -> Coroutine[Any, Any, R]: ...
def drive(executor: SyncExecutor | AsyncExecutor, gen: Procedure[R]) -> R | Coroutine[Any, Any, R]:
    """Run ``gen`` now (sync executor) or return a coroutine running it (async executor)."""
    if getattr(executor, "is_async", False):
        return run_async(gen)
    return run_sync(gen)
