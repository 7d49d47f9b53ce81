"""The routes every ARM resource collection below a workspace shares, written once.

A :class:`Collection` says where a collection lives below the workspace (``computes``,
``batchEndpoints/{endpointName}/deployments``), which path parameter names one of its items,
and the kind and label of its records; :func:`add_routes` adds its list, PUT, GET, PATCH and
DELETE routes, the PUT being the one part each collection writes itself (an :class:`Item` and
the request body in, the response out).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response

from .arm_errors import not_found
from .context import emulator_of
from .ids import WS_PATH, workspace_id
from .provisioning import settle
from .resources import (
    current,
    delete_resource,
    get_resource,
    list_resources,
    patch_resource,
    put_resource,
    read_body,
)

if TYPE_CHECKING:
    from .context import Emulator


@dataclass(frozen=True)
class Collection:
    """A resource collection below a workspace."""

    #: The path below the workspace, with the path parameters of its parents
    #: (``batchEndpoints/{endpointName}/deployments``).
    path: str
    #: The path parameter naming one item (``deploymentName``).
    item: str
    #: ``meta.kind`` of its records (``batchDeployment``).
    kind: str
    #: What its errors call an item (``batch deployment``).
    label: str
    #: The collection whose item holds this one (deployments: their endpoints).
    parent: Collection | None = None

    @property
    def route(self) -> str:
        """The path template of the collection."""
        return f"{WS_PATH}/{self.path}"

    @property
    def item_route(self) -> str:
        """The path template of one item."""
        return f"{self.route}/{{{self.item}}}"

    @property
    def arm_type(self) -> str:
        """The ARM type below ``workspaces`` (``batchEndpoints/deployments``)."""
        return "/".join(part for part in self.path.split("/") if not part.startswith("{"))


@dataclass(frozen=True)
class Item:
    """One item of a collection, as a request's path names it."""

    emu: Emulator
    request: Request
    collection: Collection
    ws: tuple[str, str, str]
    #: Its ARM id (the store key).
    key: str
    name: str

    @classmethod
    def of(cls, request: Request, collection: Collection) -> Item:
        """The item ``request`` names (its workspace created on first use)."""
        params = request.path_params
        ws = (params["sub"], params["rg"], params["ws"])
        emu = emulator_of(request)
        emu.workspace(*ws)
        path = f"{collection.path}/{{{collection.item}}}".format(**params)
        return cls(emu, request, collection, ws, f"{workspace_id(*ws)}/{path}", params[collection.item])

    def parent(self) -> Item:
        """The item this one belongs to (its endpoint, for a deployment)."""
        assert self.collection.parent is not None
        return Item.of(self.request, self.collection.parent)

    def current(self) -> dict[str, Any]:
        """The settled record, or an ARM 404."""
        return current(self.emu, self.key, self.collection.label, self.name)

    def live(self) -> dict[str, Any]:
        """The settled record unless it is gone or being deleted (then an ARM 404)."""
        record = settle(self.emu, self.key)
        if record is None or record["meta"].get("pending") == "delete":
            raise not_found(self.collection.label, self.name)
        return record

    def put(self, body: dict[str, Any], **options: Any) -> Response:
        """:func:`~.resources.put_resource` of this item (``options``: lro, tracked, defaults, meta)."""
        collection = self.collection
        return put_resource(
            self.emu, self.request, ws=self.ws, arm_id=self.key, name=self.name, arm_type=collection.arm_type,
            kind=collection.kind, body=body, **options,
        )


#: A collection's own PUT: the item and the request body in, the response out.
PutHandler = Callable[[Item, dict[str, Any]], Response]
#: A check that runs before an item is deleted (raises an ArmError to refuse).
DeleteCheck = Callable[[Item], None]
Route = Callable[[Request], Awaitable[Response]]


def add_routes(
    router: APIRouter,
    collection: Collection,
    *,
    put: PutHandler,
    listing: bool = True,
    patch: bool = True,
    lro_delete: bool = True,
    before_delete: DeleteCheck | None = None,
) -> None:
    """Add the list (unless ``listing`` is off), PUT, GET, PATCH (unless off) and DELETE routes."""
    routes: list[tuple[str, str, Route]] = []
    if listing:
        routes.append(("GET", collection.route, _list_route(collection)))
    routes.append(("PUT", collection.item_route, _put_route(collection, put)))
    routes.append(("GET", collection.item_route, _get_route(collection)))
    if patch:
        routes.append(("PATCH", collection.item_route, _patch_route(collection)))
    routes.append(("DELETE", collection.item_route, _delete_route(collection, lro_delete, before_delete)))
    for method, path, endpoint in routes:
        router.add_api_route(path, endpoint, methods=[method])


def _list_route(collection: Collection) -> Route:
    async def list_items(request: Request) -> Response:
        params = request.path_params
        emu = emulator_of(request)
        emu.workspace(params["sub"], params["rg"], params["ws"])
        if collection.parent is not None:
            Item.of(request, collection.parent).live()
        key = f"{workspace_id(params['sub'], params['rg'], params['ws'])}/{collection.path.format(**params)}"
        return list_resources(emu, request, collection_key=key)

    return list_items


def _put_route(collection: Collection, put: PutHandler) -> Route:
    async def put_item(request: Request) -> Response:
        item = Item.of(request, collection)
        body = await read_body(request)
        if collection.parent is None:
            return put(item, body)
        with item.emu.store.lock:  # the parent must not go away while its child is written
            item.parent().live()
            return put(item, body)

    return put_item


def _get_route(collection: Collection) -> Route:
    async def get_item(request: Request) -> Response:
        item = Item.of(request, collection)
        return get_resource(item.emu, request, key=item.key, label=collection.label, name=item.name)

    return get_item


def _patch_route(collection: Collection) -> Route:
    async def patch_item(request: Request) -> Response:
        item = Item.of(request, collection)
        body = await read_body(request)
        return patch_resource(item.emu, request, key=item.key, label=collection.label, name=item.name, body=body)

    return patch_item


def _delete_route(collection: Collection, lro: bool, before_delete: DeleteCheck | None) -> Route:
    async def delete_item(request: Request) -> Response:
        item = Item.of(request, collection)
        if before_delete is not None:
            before_delete(item)
        return delete_resource(item.emu, request, key=item.key, lro=lro)

    return delete_item
