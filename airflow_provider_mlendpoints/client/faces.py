"""The typed faces of the operation groups: what each method returns on each client.

The operation groups (:mod:`.jobs`, :mod:`.batch_endpoints`, ...) are written once for both
clients: their methods return a value on :class:`~.MLEndpointsClient` and an awaitable of it on
:class:`~.AsyncMLEndpointsClient` (annotated :data:`~._executor.MaybeAwaitable`). Each group is
:class:`Flavoured` by its executor (``JobsOperations[SyncExecutor]`` on the sync client,
``JobsOperations[AsyncExecutor]`` on the async one), and each method that sends a request is
decorated with the face of what it gives (:func:`value`, :func:`long_running`, :func:`response`).
A face is a descriptor: a type checker reads the method's own signature once and sees
``client.jobs.get(name)`` as a :class:`~.resources.Job` and ``aclient.jobs.get(name)`` as a
coroutine of one (what an ``async def`` gives); ``begin_*`` give an :class:`~.pipeline.MLPoller`
(sync) or a coroutine of an :class:`~.pipeline.AsyncMLPoller` (async). At run time a face is the plain method.

``tests/unit/client/test_typed_facades.py`` checks that mypy reads the clients so.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from azure.core.rest import AsyncHttpResponse, HttpResponse

from ._executor import AsyncExecutor, MaybeAwaitable, Poller, SyncExecutor
from .pipeline import AsyncMLPoller, MLPoller

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S")  # what a face gives on the sync client
A = TypeVar("A")  # what it gives on the async client
#: The executor a group or client is built on (a value-restricted type variable: mypy checks
#: the groups' code once per flavour).
X = TypeVar("X", SyncExecutor, AsyncExecutor)


class Flavoured(Generic[X]):
    """Built on an executor of one flavour: its faces give values (sync) or awaitables (async)."""


class Face(Generic[P, S, A]):
    """A method written once, typed per flavour: ``Callable[P, S]`` on a ``Flavoured[SyncExecutor]``,
    ``Callable[P, A]`` on a ``Flavoured[AsyncExecutor]``; on the class, the face itself (callable
    as the plain function). ``via`` names an attribute holding the object the method is bound to
    (a client method that is its invocation group's)."""

    def __init__(self, fn: Callable[..., Any], via: str | None = None) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.via = via

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Face[P, S, A]: ...
    @overload
    def __get__(self, obj: Flavoured[SyncExecutor], owner: type[Any]) -> Callable[P, S]: ...
    @overload
    def __get__(self, obj: Flavoured[AsyncExecutor], owner: type[Any]) -> Callable[P, A]: ...
    def __get__(self, obj: object, owner: type[Any]) -> Any:
        if obj is None:
            return self
        return types.MethodType(self.fn, obj if self.via is None else getattr(obj, self.via))

    def on(self, via: str) -> Face[P, S, A]:
        """This face, bound to the object in attribute ``via`` of the instance it is read from."""
        return Face(self.fn, via)


def value(fn: Callable[Concatenate[Any, P], MaybeAwaitable[T]]) -> Face[P, T, Coroutine[Any, Any, T]]:
    """A method giving ``T`` (sync) or a coroutine of it (async)."""
    return Face(fn)


def long_running(
    fn: Callable[Concatenate[Any, P], Poller[T]],
) -> Face[P, MLPoller[T], Coroutine[Any, Any, AsyncMLPoller[T]]]:
    """A method giving a poller: an :class:`MLPoller` (sync), a coroutine of an :class:`AsyncMLPoller` (async)."""
    return Face(fn)


def response(
    fn: Callable[Concatenate[Any, P], MaybeAwaitable[HttpResponse | AsyncHttpResponse]],
) -> Face[P, HttpResponse, Coroutine[Any, Any, AsyncHttpResponse]]:
    """A method giving the raw azure-core response of its flavour."""
    return Face(fn)


__all__ = ["Face", "Flavoured", "X", "long_running", "response", "value"]
