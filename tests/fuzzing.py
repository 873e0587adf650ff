"""A seeded fuzzer for the room socket: valid and invalid frames from several clients,
random disconnects, then the check that the room is healthy and everyone agrees.

Used by ``tests/net/test_fuzz.py`` (bounded, in CI) and ``bench/bench_fuzz.py`` (long runs that
print counts). Every choice comes from one ``random.Random(seed)``, so a failing seed can
be replayed (timing still varies: what is checked must hold whatever the interleaving).

Actors, each step one of:

* **writers** (``RoomClient``, annotd.v1, some auto-reconnecting): Yjs edits of every kind
  the schema knows (maps, nested maps, deletes, text), JSON-RPC commands (valid and with bad
  params: answered with errors, never closing), presence (valid and invalid: an ``error``
  frame), awareness queries, abrupt disconnects (transport aborted) and reconnects with
  ``lastSeq``;
* **vandals** (raw sockets, stock or annotd.v1): malformed frames of every kind the
  protocol names (truncated, bad length prefix, undecodable update or state vector, auth,
  unknown types, empty, text on a stock socket, binary on the control socket, oversized):
  each must close that socket with the documented code and touch nothing else.

The end check: every writer reconnects, flushes and reaches the head; each one's document
equals the server's; a fresh client joins and equals it too; the server's head moved only
by accepted updates and the room still takes a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from pycrdt import Doc, Map, Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State

from annotd.client.roomclient import RoomClient, RpcError
from annotd.core import yproto

BAD_FRAMES: list[tuple[str, bytes, int]] = [
    ("empty", b"", 1002),
    ("sync-without-subtype", b"\x00", 1002),
    ("unknown-sync-subtype", b"\x00\x07\x00", 1002),
    ("length-mismatch", b"\x00\x02\x05\x01\x02", 1002),
    ("truncated-varint", b"\x00\x02\xff", 1002),
    ("undecodable-update", b"\x00\x02\x03\xff\xff\xff", 1002),
    ("undecodable-step2", b"\x00\x01\x04\x01\x09\xff\xff", 1002),
    ("auth", b"\x02\x00", 1002),
    ("unknown-type", b"\x07\x00", 1002),
    ("seq-frame-from-client", b"\x64\x01\x00\x02\x00", 1002),
    ("awareness-bad-length", b"\x01\x09\x00", 1002),
]


@dataclass
class Counts:
    frames: Counter[str] = field(default_factory=Counter)
    closes: Counter[int] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.frames.values())


def _random_frame(rng: random.Random) -> bytes:
    """Random bytes, biased to look like y-protocols (a known first byte, a varint)."""
    head = rng.choice([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01", b"\x03", b"\x64", b""])
    return head + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24)))


class Fuzzer:
    def __init__(self, ws_url: str, room: str, seed: int, *, writers: int = 4, max_frame_bytes: int) -> None:
        self.ws_url = ws_url
        self.room = room
        self.rng = random.Random(seed)
        self.max_frame_bytes = max_frame_bytes
        self.writers = [RoomClient(ws_url, room, user_id=f"w{i}", auto_reconnect=i % 2 == 0) for i in range(writers)]
        self.counts = Counts()
        self._rpc: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        for w in self.writers:
            await w.connect()

    # -- writers -------------------------------------------------------------------------
    def _edit(self, w: RoomClient) -> None:
        rng, doc = self.rng, w.doc
        roll = rng.random()
        anns = doc.get("annotations", type=Map)
        key = f"a{rng.randrange(12)}"
        if roll < 0.35:
            anns[key] = Map({"id": key, "type": rng.choice(["rect", "ellipse", "text"]), "x": rng.uniform(-50, 500),
                             "y": rng.uniform(-50, 500), "w": rng.uniform(0, 90), "h": rng.uniform(0, 90)})
        elif roll < 0.6 and key in anns and isinstance(anns[key], Map):
            anns[key][rng.choice(["x", "y", "w", "rotation", "z"])] = rng.choice([rng.uniform(-10, 10), "a1", None, True])
        elif roll < 0.75 and key in anns:
            del anns[key]
        elif roll < 0.9:
            text = doc.get("notes", type=Text)
            current = str(text)
            # pycrdt counts Text positions in UTF-8 bytes: insert on a character boundary
            # (a position inside a character makes replicas disagree in yrs itself)
            pos = len(current[: rng.randrange(len(current) + 1)].encode())
            text.insert(pos, rng.choice(["x", "yz", "é", "😀", "\n"]) * rng.randrange(1, 40))
        else:
            doc.get("meta", type=Map)[rng.choice(["junk", "schemaVersion"])] = rng.choice([1, "x", 3.5])
        self.counts.frames["edit"] += 1

    async def _rpc_call(self, w: RoomClient) -> None:
        rng = self.rng
        calls = [
            ("annotations.upsert", {"annotation": {"type": "rect", "x": rng.uniform(0, 100), "y": 1, "w": 5, "h": 5}}),
            ("annotations.upsert", {"annotation": {"type": "rect", "style": {"strokeWidth": -1}}}),  # invalid
            ("annotations.delete", {"id": f"a{rng.randrange(12)}"}),
            ("annotations.list", {}),
            ("comments.create", {"anchor": {"kind": "point", "x": 1, "y": 2}, "body": "hi"}),
            ("nope.method", {}),
            ("rooms.get", {}),
        ]
        method, params = rng.choice(calls)
        self.counts.frames[f"rpc {method}"] += 1
        with contextlib.suppress(RpcError, ConnectionError):
            await w.call(method, **params)

    async def _presence(self, w: RoomClient) -> None:
        assert w.ws is not None
        good = self.rng.random() < 0.7
        state: dict[str, Any] = {"cursor": {"x": 1, "y": 2}, "selection": []} if good else \
            self.rng.choice([{"cursor": {"x": "no"}}, {"selection": 5}, {"viewport": {"x": 0, "y": 0, "w": -1, "h": 1}}])
        self.counts.frames["presence" if good else "presence-invalid"] += 1
        await w.ws.send(orjson.dumps({"type": "presence", **state}).decode())

    async def _drop(self, w: RoomClient) -> None:
        """An abrupt disconnect: the transport goes away without a close frame."""
        if w.ws is not None:
            w.ws.transport.abort()
            self.counts.frames["abrupt-disconnect"] += 1
            with contextlib.suppress(Exception):
                await asyncio.wait_for(w.wait_closed(), 10)

    async def _writer_step(self) -> None:
        w = self.rng.choice(self.writers)
        if w.ws is None or w.ws.state is State.CLOSED:
            if not w.auto_reconnect:  # the others come back by themselves
                with contextlib.suppress(OSError, ConnectionError, InvalidHandshake, TimeoutError):
                    await w.close()
                    await w.connect()
                    self.counts.frames["reconnect"] += 1
            return
        roll = self.rng.random()
        try:
            if roll < 0.6:
                self._edit(w)
            elif roll < 0.75:
                self._rpc.append(asyncio.ensure_future(self._rpc_call(w)))
            elif roll < 0.88:
                await self._presence(w)
            elif roll < 0.95:
                await w.ws.send(b"\x03")  # query awareness
                self.counts.frames["query-awareness"] += 1
            else:
                await self._drop(w)
        except ConnectionClosed:
            pass

    # -- vandals -------------------------------------------------------------------------
    async def _vandal_step(self) -> None:
        rng = self.rng
        v1 = rng.random() < 0.5
        kind = rng.random()
        path = f"{self.ws_url}/v1/ws/rooms/{self.room}?userId=vandal"
        expect: int | None
        if kind < 0.55:
            name, frame, expect = rng.choice(BAD_FRAMES)
            payload: bytes | str = frame
        elif kind < 0.7:
            name, payload, expect = "random-bytes", _random_frame(rng), None  # may even be valid
        elif kind < 0.8:
            name, payload, expect = "oversized", b"\x00\x02" + b"\x00" * (self.max_frame_bytes + 10), 1009
        elif kind < 0.9:
            name, payload, expect = ("text-on-stock", "hello", 1003) if not v1 else ("bad-json", "{nope", None)
        else:
            name, payload, expect = "binary-on-control", b"\x00\x00\x00", 1003
            path, v1 = f"{self.ws_url}/v1/ws?userId=vandal", False
        self.counts.frames[name] += 1
        protocols: Any = ["annotd.v1"] if v1 else None
        ws: ClientConnection
        async with connect(path, subprotocols=protocols, max_size=None, compression=None) as ws:
            await ws.send(payload)
            if expect is None:
                await ws.send(yproto.sync_step1(b"\x00"))  # a probe: answered, or the socket was closed
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                async with asyncio.timeout(10):
                    while True:
                        msg = await ws.recv()
                        if expect is None and isinstance(msg, bytes) and b"\x00\x01" in msg[:6]:
                            break
        code = ws.close_code
        if code is not None:
            self.counts.closes[code] += 1
        if expect is not None and code != expect:
            raise AssertionError(f"{name}: expected close {expect}, got {code} {ws.close_reason!r}")

    # -- the run -------------------------------------------------------------------------
    async def run(self, frames: int) -> None:
        while self.counts.total < frames:
            if self.rng.random() < 0.8:
                await self._writer_step()
            else:
                await self._vandal_step()
            if self.rng.random() < 0.05:
                await asyncio.sleep(0)
        await asyncio.gather(*self._rpc, return_exceptions=True)

    async def converge(self) -> Doc:
        """Every writer back, flushed and at the head; returns a fresh client's document
        (callers bound it with ``asyncio.timeout``)."""
        for w in self.writers:
            if w.ws is None or w.ws.state is State.CLOSED:
                w.auto_reconnect = False
                await w.close()
                await w.connect()
        for w in self.writers:
            await w.flush()
        fresh = RoomClient(self.ws_url, self.room, user_id="fresh")
        await fresh.connect()
        fresh.doc.get("annotations", type=Map)["after-fuzz"] = Map({"id": "after-fuzz", "type": "rect"})
        head = await fresh.flush()
        for w in [*self.writers, fresh]:
            await w.wait_for_seq(head)
        await fresh.close()
        return fresh.doc

    async def close(self) -> None:
        for w in self.writers:
            await w.close()


def content(doc: Doc[Any]) -> dict[str, Any]:
    return {name: doc.get(name, type=Text if name == "notes" else Map).to_py()
            for name in ("annotations", "comments", "meta", "notes") if name in doc.keys()}
