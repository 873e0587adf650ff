"""Every command is defined once: name, typed params, handler and its REST route.

The JSON-RPC dispatcher (:mod:`annotd.rpc`) and the aiohttp side port
(:mod:`annotd.httpserver`) both read :data:`REGISTRY`, so a command can never exist on
one surface and not the other, nor validate differently. ``/openapi.json`` is generated
from the same entries.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..hub import Hub

P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the user id and, on a socket, the session to notify later."""

    user_id: str
    session: str | None = None
    room_id: str | None = None


Handler = Callable[["Hub", Any, Caller], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    params: type
    handler: Handler
    method: str
    path: str
    status: int = 200

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.replace(":", "/").split("/") if part.startswith("{")]


REGISTRY: dict[str, Command] = {}


def command(name: str, *, method: str, path: str, status: int = 200) -> Callable[[Handler], Handler]:
    """Register ``handler(hub, params, caller)``; its params type is read from the annotation."""

    def register(handler: Handler) -> Handler:
        # Only the params annotation is resolved: the hub type is imported for type
        # checking alone, so get_type_hints() over the whole signature would fail.
        second = list(inspect.signature(handler).parameters)[1]
        annotation = handler.__annotations__[second]
        params_type = eval(annotation, handler.__globals__) if isinstance(annotation, str) else annotation
        if name in REGISTRY:
            raise RuntimeError(f"command {name} defined twice")
        summary = (handler.__doc__ or name).strip().splitlines()[0]
        REGISTRY[name] = Command(name, summary, params_type, handler, method, path, status)
        return handler

    return register
