"""A stock npm Yjs client under test control: ``tests/interop/peer.mjs`` (y-websocket's
``WebsocketProvider``, pinned in ``tests/interop/package-lock.json``) driven over
stdin/stdout JSON lines. The ``peers`` fixture (conftest.py) starts them and reaps them.

Node and the npm packages are a hard requirement: when they are missing the tests fail
with instructions instead of skipping, because a skipped interop suite would let a
protocol regression ship silently (``bin/test`` installs them with ``npm ci``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from annotd.process.daemon import Daemon

from .helpers import T

INTEROP = Path(__file__).parent / "interop"
PEER = INTEROP / "peer.mjs"
Event = dict[str, Any]


class PeerError(AssertionError):
    """The node peer died, reported an uncaught exception, or did not answer in time."""


def node_binary() -> str:
    """Locate node and the installed npm packages, or fail (never skip) with the fix."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("interop tests need Node.js >= 20 on PATH (`node` not found); "
                    "install it, then run bin/test (which runs `npm ci` in tests/interop)", pytrace=False)
    for pkg in ("y-websocket", "yjs", "ws", "y-protocols"):
        if not (INTEROP / "node_modules" / pkg / "package.json").is_file():
            pytest.fail(f"tests/interop/node_modules/{pkg} is missing; run bin/test or "
                        "`cd tests/interop && npm ci` to install the pinned npm packages", pytrace=False)
    return node


class NodePeer:
    """One ``peer.mjs`` process: a stock ``WebsocketProvider`` we command and observe.

    Every stdout line is kept in order in :attr:`events` (replies to commands resolve their
    future instead), so a test can wait for an event that may already have happened without
    a race: waits scan from an index, they do not subscribe "from now on".
    """

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.events: list[Event] = []
        self.stderr = bytearray()
        self.exited = False
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[Event]] = {}
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read_stdout(), name=f"peer-{name}-stdout")
        self._err_reader = asyncio.create_task(self._read_stderr(), name=f"peer-{name}-stderr")

    @classmethod
    async def start(cls, node: str, ws_url: str, room: str, user_id: str) -> NodePeer:
        proc = await asyncio.create_subprocess_exec(
            node, str(PEER), f"{ws_url}/v1/ws/rooms", room, user_id,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=INTEROP, limit=1 << 24)
        return cls(proc, user_id)

    # -- plumbing ------------------------------------------------------------------------
    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        try:
            async for raw in self.proc.stdout:
                msg: Event = orjson.loads(raw)
                fut = self._replies.pop(msg["id"], None) if "id" in msg else None
                if fut is not None:
                    if not fut.done():
                        fut.set_result(msg)
                    continue
                async with self._changed:
                    self.events.append(msg)
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self.exited = True
                self._changed.notify_all()
            for fut in self._replies.values():
                if not fut.done():
                    fut.set_exception(PeerError(f"peer {self.name} exited while a command was pending: {self.diagnostics()}"))
            self._replies.clear()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self.stderr += chunk

    def diagnostics(self) -> str:
        errors = [e for e in self.events if e.get("event") in ("error", "textFrame")]
        return (f"returncode={self.proc.returncode} errors={errors} "
                f"stderr={self.stderr.decode(errors='replace')[-2000:]!r} last events={self.events[-8:]}")

    # -- commands ------------------------------------------------------------------------
    def send(self, op: str, **args: Any) -> asyncio.Future[Event]:
        """Write a command now; the returned future resolves with its reply line."""
        assert self.proc.stdin is not None
        id_ = next(self._ids)
        fut: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        if self.exited:
            fut.set_exception(PeerError(f"peer {self.name} has exited: {self.diagnostics()}"))
            return fut
        self._replies[id_] = fut
        self.proc.stdin.write(orjson.dumps({"id": id_, "op": op, **args}) + b"\n")
        return fut

    async def reply(self, fut: asyncio.Future[Event], what: str) -> Event:
        try:
            async with asyncio.timeout(T):
                msg = await fut
        except TimeoutError:
            raise PeerError(f"peer {self.name}: no reply to {what} within {T}s: {self.diagnostics()}") from None
        if not msg.get("ok"):
            raise PeerError(f"peer {self.name}: {what} failed: {msg.get('error')}")
        return msg

    async def flush(self) -> None:
        """Let the commands written by :meth:`send` reach the pipe."""
        assert self.proc.stdin is not None
        await self.proc.stdin.drain()

    async def request(self, op: str, **args: Any) -> Event:
        fut = self.send(op, **args)
        await self.flush()
        return await self.reply(fut, op)

    async def until(self, equals: Any, *, map: str = "annotations", key: str | None = None) -> Any:
        """Wait until the peer's ``map`` (or ``map[key]``) deep-equals ``equals`` (checked by
        the peer on every document update)."""
        args: dict[str, Any] = {"map": map, "equals": equals}
        if key is not None:
            args["key"] = key
        what = f"until {map}{'.' + key if key else ''} == {equals!r}"
        try:
            return (await self.request("until", **args))["value"]
        except PeerError:
            dump = await self.request("dump", map=map) if not self.exited else {}
            raise PeerError(f"{what}; peer has {dump.get('map')!r}") from None

    async def wait_event(self, pred: Callable[[Event], bool], what: str, *, after: int = 0) -> int:
        """Index of the first event at or after ``after`` matching ``pred``."""
        i = after
        try:
            async with asyncio.timeout(T):
                async with self._changed:
                    while True:
                        for j in range(i, len(self.events)):
                            ev = self.events[j]
                            if ev.get("event") == "error":
                                raise PeerError(f"peer {self.name} crashed while waiting for {what}: {ev['message']}")
                            if pred(ev):
                                return j
                        i = len(self.events)
                        if self.exited:
                            raise PeerError(f"peer {self.name} exited while waiting for {what}: {self.diagnostics()}")
                        await self._changed.wait()
        except TimeoutError:
            raise PeerError(f"peer {self.name}: no {what} within {T}s: {self.diagnostics()}") from None

    async def synced(self, *, after: int = 0) -> int:
        return await self.wait_event(lambda e: e.get("event") == "synced", "'synced' event", after=after)

    def mark(self) -> int:
        """The index the next event will get; pass it as ``after`` to wait for later events only."""
        return len(self.events)

    async def kill(self) -> None:
        """SIGKILL: no exit handlers run, so the socket just drops (as when a laptop sleeps)."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        await self.proc.wait()
        await self._drain()

    async def _drain(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
            with contextlib.suppress(ConnectionError, BrokenPipeError):
                await self.proc.stdin.wait_closed()
        await asyncio.gather(self._reader, self._err_reader, return_exceptions=True)


Peers = Callable[..., Awaitable[NodePeer]]
"""Starts a node peer: ``await peers(room, user_id, on=daemon)`` (the ``peers`` fixture)."""


async def stock_peer(peers: Peers, room: str, user: str, *, on: Daemon | None = None) -> NodePeer:
    """A node peer that has completed its first sync over the stock (no subprotocol) path."""
    peer = await peers(room, user, on=on)
    await peer.synced()
    opened = peer.events[await peer.wait_event(lambda e: e.get("event") == "open", "socket open")]
    assert opened["protocol"] == "", "a stock client must not negotiate the annotd.v1 subprotocol"
    return peer
