/**
 * RoomSocket against a fake WebSocket and node's mock timers: what it sends, what it keeps
 * (lastSeq, epoch, pending acks), when it reconnects and when it gives up, and how JSON-RPC
 * calls end when no answer can come. Run by tests/client/test_client_js.py.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import * as Y from "yjs";
import {
  CLOSE,
  CLOSE_CODES,
  FIRST_BACKOFF_MS,
  MSG_SYNC,
  RoomSocket,
  RpcError,
  SYNC_STEP1,
  SYNC_STEP2,
  SYNC_UPDATE,
  parseFrame,
  syncStep1,
  syncStep2,
  withSeq,
  type Closed,
  type RoomSocketOptions,
} from "../src/index.js";
import { FakeWebSocket } from "./fake-websocket.js";

const EPOCH = "e1";

beforeEach(() => {
  FakeWebSocket.reset();
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
});
afterEach(() => mock.timers.reset());

function makeSocket(extra: Partial<RoomSocketOptions> = {}): RoomSocket {
  return new RoomSocket({
    url: "ws://annotd.test:1234",
    roomId: "room-1",
    userId: "Ann#t1",
    doc: new Y.Doc(),
    WebSocketImpl: FakeWebSocket as unknown as typeof WebSocket,
    random: () => 1, // no jitter: the delays below are exact
    ...extra,
  });
}

function roomInfo(sync: "fresh" | "replay" | "resync", seq: number): Record<string, unknown> {
  return {
    type: "roomInfo", roomId: "room-1", name: "Room", createdAt: 0, seq, headSeq: seq, snapshotSeq: 0, oldestSeq: 0,
    epoch: EPOCH, users: [], clients: 1, image: null, userId: "Ann#t1", session: "s1", sync,
    replayFrom: sync === "replay" ? seq : null,
  };
}

/** Play the server's side of a connection up to "synced" at `seq` with `server`'s state. */
function serve(ws: FakeWebSocket, seq: number, server = new Y.Doc(), sync: "fresh" | "replay" | "resync" = "fresh"): void {
  ws.open();
  ws.receiveJson(roomInfo(sync, seq));
  ws.receiveBinary(withSeq(seq, syncStep2(Y.encodeStateAsUpdate(server))));
}

function syncType(data: string | Uint8Array): number | null {
  if (typeof data === "string") return null;
  const f = parseFrame(data);
  return f.kind === MSG_SYNC ? f.reader.uint() : null;
}

test("opens with the subprotocol, sends its state vector and is synced by the server's step 2", () => {
  const socket = makeSocket();
  const synced: number[] = [];
  socket.on("synced", (s) => synced.push(s));
  socket.connect();
  const ws = FakeWebSocket.last();
  assert.equal(ws.protocols, "annotd.v1");
  assert.equal(ws.params.get("userId"), "Ann#t1");
  assert.equal(ws.params.get("lastSeq"), null, "a first connection asks for no replay");
  const server = new Y.Doc();
  server.getMap("annotations").set("a", 1);
  serve(ws, 7, server);
  assert.equal(syncType(ws.sent[0]!), SYNC_STEP1);
  assert.deepEqual(synced, [7]);
  assert.equal(socket.state, "connected");
  assert.equal(socket.lastSeq, 7);
  assert.equal(socket.epoch, EPOCH);
  assert.equal(socket.doc.getMap("annotations").get("a"), 1);
});

test("tracks the seq of seq frames and acks, and counts local updates until acked", () => {
  const socket = makeSocket();
  socket.connect();
  const ws = FakeWebSocket.last();
  serve(ws, 3);
  const other = new Y.Doc();
  other.getMap("annotations").set("b", 2);
  ws.receiveBinary(withSeq(4, new Uint8Array([MSG_SYNC, SYNC_UPDATE, ...lengthPrefixed(Y.encodeStateAsUpdate(other))])));
  assert.equal(socket.lastSeq, 4);
  assert.equal(socket.doc.getMap("annotations").get("b"), 2);
  socket.doc.getMap("annotations").set("mine", 1);
  assert.equal(syncType(ws.sent.at(-1)!), SYNC_UPDATE, "a local edit goes up at once");
  assert.equal(socket.pendingAcks, 1);
  ws.receiveJson({ type: "ack", seq: 5 });
  assert.equal(socket.pendingAcks, 0);
  assert.equal(socket.lastSeq, 5);
  ws.receiveBinary(withSeq(2, syncStep2(new Uint8Array([0, 0]))));
  assert.equal(socket.lastSeq, 5, "an older seq never moves lastSeq back");
});

test("reconnects asking for replay from lastSeq and epoch, and keeps the seq on a replay", () => {
  const socket = makeSocket();
  socket.connect();
  serve(FakeWebSocket.last(), 9);
  FakeWebSocket.last().receiveJson({ type: "ack", seq: 11 });
  socket.drop();
  assert.equal(socket.state, "reconnecting");
  mock.timers.tick(FIRST_BACKOFF_MS);
  const ws = FakeWebSocket.last();
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.equal(ws.params.get("lastSeq"), "11");
  assert.equal(ws.params.get("epoch"), EPOCH);
  ws.open();
  ws.receiveJson(roomInfo("replay", 11));
  assert.equal(socket.lastSeq, 11, "a replay continues from our seq");
  ws.receiveBinary(withSeq(12, syncStep2(new Uint8Array([0, 0]))));
  assert.equal(socket.lastSeq, 12);
  assert.equal(socket.state, "connected");
});

test("a resync (another epoch, or a pruned seq) starts the seq over", () => {
  const socket = makeSocket();
  socket.connect();
  serve(FakeWebSocket.last(), 9);
  socket.drop();
  mock.timers.tick(FIRST_BACKOFF_MS);
  const ws = FakeWebSocket.last();
  ws.open();
  ws.receiveJson(roomInfo("resync", 3));
  assert.equal(socket.lastSeq, null);
  ws.receiveBinary(withSeq(3, syncStep2(new Uint8Array([0, 0]))));
  assert.equal(socket.lastSeq, 3);
});

test("edits made offline go up as the answer to the server's step 1", () => {
  const socket = makeSocket();
  socket.connect();
  serve(FakeWebSocket.last(), 1);
  socket.drop();
  socket.doc.getMap("annotations").set("offline", true);
  assert.equal(socket.unsent, true);
  mock.timers.tick(FIRST_BACKOFF_MS);
  const ws = FakeWebSocket.last();
  ws.open();
  ws.receiveJson(roomInfo("replay", 1));
  ws.receiveBinary(withSeq(1, syncStep1(Y.encodeStateVector(new Y.Doc()))));
  const reply = ws.sent.at(-1)!;
  assert.equal(syncType(reply), SYNC_STEP2);
  const server = new Y.Doc();
  const f = parseFrame(reply as Uint8Array);
  f.reader.uint();
  Y.applyUpdate(server, f.reader.blob());
  assert.equal(server.getMap("annotations").get("offline"), true);
  assert.equal(socket.unsent, false);
});

test("backs off exponentially up to the ceiling, at once after 4008, and starts over once synced", () => {
  const socket = makeSocket({ maxBackoffMs: 1000 });
  socket.connect();
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const before = FakeWebSocket.instances.length;
    FakeWebSocket.last().serverClose(1006);
    let waited = 0;
    while (FakeWebSocket.instances.length === before) {
      mock.timers.tick(1);
      waited++;
      assert.ok(waited <= 60_000, "never reconnected");
    }
    delays.push(waited);
  }
  assert.deepEqual(delays, [250, 500, 1000, 1000, 1000]);
  serve(FakeWebSocket.last(), 1);
  const count = FakeWebSocket.instances.length;
  FakeWebSocket.last().serverClose(CLOSE.TOO_SLOW);
  mock.timers.tick(0);
  assert.equal(FakeWebSocket.instances.length, count + 1, "4008: reconnect at once");
  FakeWebSocket.last().serverClose(1006);
  mock.timers.tick(FIRST_BACKOFF_MS * 2 - 1);
  assert.equal(FakeWebSocket.instances.length, count + 1);
  mock.timers.tick(1);
  assert.equal(FakeWebSocket.instances.length, count + 2);
});

for (const [code, info] of Object.entries(CLOSE_CODES)) {
  test(`close code ${code} (${info.name}) ${info.final ? "is final" : "reconnects"}`, () => {
    const socket = makeSocket();
    const closed: Closed[] = [];
    socket.on("closed", (c) => closed.push(c));
    socket.connect();
    serve(FakeWebSocket.last(), 1);
    FakeWebSocket.last().serverClose(Number(code), "because");
    assert.deepEqual(closed, [{ code: Number(code), reason: "because", final: info.final, meaning: info.meaning }]);
    mock.timers.tick(60_000);
    if (info.final) {
      assert.equal(socket.state, "closed");
      assert.equal(FakeWebSocket.instances.length, 1, "a final close never reconnects");
    } else {
      assert.equal(FakeWebSocket.instances.length, 2);
    }
  });
}

test("4413 (an edit the server refuses for the document's size) is final: the edit is not resent", () => {
  const socket = makeSocket();
  socket.connect();
  serve(FakeWebSocket.last(), 1);
  socket.doc.getMap("annotations").set("huge", "x".repeat(100));
  FakeWebSocket.last().serverClose(CLOSE.DOCUMENT_TOO_LARGE);
  mock.timers.tick(600_000);
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(socket.state, "closed");
});

test("a JSON-RPC call resolves with its result, or rejects with the server's error in an RpcError", async () => {
  const socket = makeSocket();
  socket.connect();
  const ws = FakeWebSocket.last();
  serve(ws, 1);
  const got = socket.call("annotations.get", { id: "a1" });
  const bad = socket.call("comments.create", { body: "", anchor: { kind: "point", x: 0, y: 0 } });
  const [req1, req2] = ws.jsonSent();
  assert.deepEqual(req1, { jsonrpc: "2.0", id: req1!.id, method: "annotations.get", params: { id: "a1" } });
  ws.receiveJson({ jsonrpc: "2.0", id: req2!.id, error: { code: -32602, message: "body: is required", data: { field: "body" } } });
  ws.receiveJson({ jsonrpc: "2.0", id: req1!.id, result: { id: "a1" } });
  assert.deepEqual(await got, { id: "a1" });
  await assert.rejects(bad, (e: unknown) => e instanceof RpcError && e.code === -32602 && e.data?.field === "body");
});

test("a JSON-RPC call rejects when no answer comes in time, and when the connection drops", async () => {
  const socket = makeSocket();
  await assert.rejects(socket.call("rooms.get"), (e: unknown) => e instanceof RpcError && /not connected/.test(e.message));
  socket.connect();
  const ws = FakeWebSocket.last();
  serve(ws, 1);
  const slow = socket.call("rooms.get", {}, 5_000);
  mock.timers.tick(4_999);
  let settled = false;
  slow.then(() => (settled = true), () => (settled = true));
  await Promise.resolve();
  assert.equal(settled, false);
  mock.timers.tick(1);
  await assert.rejects(slow, (e: unknown) => e instanceof RpcError && /did not answer rooms\.get in time/.test(e.message));
  const lost = socket.call("rooms.get");
  ws.serverClose(CLOSE.GOING_AWAY);
  await assert.rejects(lost, (e: unknown) => e instanceof RpcError && /connection was lost/.test(e.message));
  // an answer that arrives for a call already given up is ignored
  ws.receiveJson({ jsonrpc: "2.0", id: 1, result: {} });
});

test("an unreadable frame is reported and the socket starts over with a full resync", () => {
  const socket = makeSocket();
  const problems: string[] = [];
  socket.on("problem", (p) => problems.push(p));
  socket.connect();
  const ws = FakeWebSocket.last();
  serve(ws, 4);
  ws.receiveBinary(new Uint8Array([MSG_SYNC, 0x80]));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /unreadable message/);
  assert.equal(ws.closedByClient?.code, 1000);
  mock.timers.tick(FIRST_BACKOFF_MS);
  assert.equal(FakeWebSocket.last().params.get("lastSeq"), null);
});

function lengthPrefixed(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let n = bytes.length;
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return [...out, ...bytes];
}
