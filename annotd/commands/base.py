"""Every command is defined once: name, typed params, handler and its REST route.

The JSON-RPC dispatcher (:mod:`annotd.net.rpc`) and the aiohttp side port
(:mod:`annotd.net.httpserver`) both read :data:`REGISTRY`, so a command can never exist on
one surface and not the other, nor validate differently. ``/openapi.json`` is generated
from the same entries.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..live.hub import Hub

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the user id and, on a socket, the session to notify later."""

    user_id: str
    session: str | None = None
    room_id: str | None = None


Handler = Callable[["Hub", Any, Caller], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Download:
    """A file result (a room bundle). REST sends the bytes as they are, with ``mime`` and a
    ``Content-Disposition`` naming ``filename``; JSON-RPC cannot carry bytes, so it answers
    :meth:`to_json`: the same bytes base64-encoded with their size and sha256."""

    data: bytes
    mime: str
    filename: str

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "mime": self.mime, "size": len(self.data),
                "sha256": hashlib.sha256(self.data).hexdigest(), "encoding": "base64",
                "data": base64.b64encode(self.data).decode("ascii")}


@dataclass(frozen=True, slots=True)
class Document:
    """A JSON document with a media type of its own (a W3C page, a COCO file). REST sends it
    as that type with a ``Content-Disposition``; JSON-RPC answers the object itself."""

    body: Any
    mime: str
    filename: str


@dataclass(frozen=True)
class Route:
    """One REST route of a command; ``{name}`` path segments fill params of that name.

    ``name`` tells the route apart in ``/openapi.json``'s ``operationId`` (a generated
    client's function name): the command's name for its main route, ``<command>.<name>``
    for another, where ``name`` defaults to the method (``annotations.upsert.put``).
    """

    method: str
    path: str
    name: str | None = None

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.replace(":", "/").split("/") if part.startswith("{")]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    params: type
    handler: Handler
    routes: tuple[Route, ...]
    status: int = 200
    body_param: str | None = None
    """When set, a REST body is this one parameter (e.g. the annotation itself) rather than
    an object of all parameters; the other parameters then come from the query string."""
    raw_body: str | None = None
    """When set, a REST body is this ``bytes`` parameter, unparsed (a bundle file), read up to
    the ``limits`` key named by ``raw_limit``; JSON-RPC sends it base64-encoded."""
    raw_limit: str | None = None
    body_unparsed: bool = False
    """With ``body_param``: a REST body is handed to the handler unparsed, as
    :class:`~annotd.commands.params.JsonText` (a file to import, parsed in the state worker:
    parsing megabytes of JSON holds the loop, and a thread does not help, the parser holds the
    GIL). JSON-RPC, whose message is parsed anyway, passes the value itself."""
    result: Any = None
    """What the command answers: a ``TypedDict`` class declared next to its params (JSON),
    or ``bytes`` (a file; REST sends it as ``media``). ``/openapi.json``'s response schemas
    and generated clients' result types come from it."""
    media: str = "application/json"
    """The REST response's media type."""
    loads_room: bool = True
    """Whether the command needs its ``roomId`` in memory: it is loaded first if it is on
    disk only, and held in memory until the command ends (``rooms.get`` and ``rooms.delete``
    do not need it)."""

    @property
    def path_params(self) -> list[str]:
        """Parameters any route can take from its path (a socket's room fills ``roomId``).

        On REST such a parameter comes from the path only: a route without it in its path
        does not take it from the query string or body either (one way to say one thing)."""
        return sorted({p for r in self.routes for p in r.path_params})

    def operation_id(self, route: Route) -> str:
        return self.name if route == self.routes[0] else f"{self.name}.{route.name or route.method.lower()}"


REGISTRY: dict[str, Command] = {}


async def invoke(cmd: Command, hub: Hub, params: Any, caller: Caller) -> Any:
    """Run ``cmd`` for ``caller`` (both surfaces call this), with its room loaded and held."""
    room_id = getattr(params, "roomId", None)
    if not cmd.loads_room or not isinstance(room_id, str):
        return await cmd.handler(hub, params, caller)
    async with hub.using(room_id):
        return await cmd.handler(hub, params, caller)


def _params_type(handler: Handler) -> type:
    """The params dataclass a handler declares as its second parameter's type.

    Looked up by name in the handler's module rather than resolved like other hints: the
    hub type in the same signature is imported for type checking alone.
    """
    second = list(inspect.signature(handler).parameters)[1]
    annotation = handler.__annotations__[second]
    if isinstance(annotation, type):
        return annotation
    found = handler.__globals__.get(annotation) if isinstance(annotation, str) else None
    if not isinstance(found, type):
        raise TypeError(f"{handler.__qualname__}: the params annotation {annotation!r} must name a class of its module")
    return found


def command(
    name: str, *, method: str, path: str, result: Any, status: int = 200,
    also: tuple[tuple[str, str] | tuple[str, str, str], ...] = (), body_param: str | None = None,
    raw_body: str | None = None, raw_limit: str | None = None, media: str = "application/json",
    loads_room: bool = True,
    body_unparsed: bool = False,
) -> Callable[[Handler], Handler]:
    """Register ``handler(hub, params, caller)``; its params type is read from the annotation.

    ``method``/``path`` is the main REST route, ``also`` more routes to the same command
    (``(method, path)``, or ``(method, path, name)`` when the method alone does not tell
    it from the others). ``result`` declares the answer (see :attr:`Command.result`).
    """

    def register(handler: Handler) -> Handler:
        params_type = _params_type(handler)
        if name in REGISTRY:
            raise RuntimeError(f"command {name} defined twice")
        summary = (handler.__doc__ or name).strip().splitlines()[0]
        routes = (Route(method, path), *(Route(*entry) for entry in also))
        ids = [r.name or r.method for r in routes[1:]]
        if len(set(ids)) < len(ids) or method in ids:
            raise RuntimeError(f"command {name}: routes of one method need a name each (also=(method, path, name))")
        REGISTRY[name] = Command(name, summary, params_type, handler, routes, status, body_param, raw_body, raw_limit,
                                 body_unparsed, result, media, loads_room)
        return handler

    return register
