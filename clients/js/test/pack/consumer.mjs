// What a frontend developer writes against the packed @annotd/client, run by
// tests/test_client_pack.py in an empty project where only the tarball and yjs are
// installed: node --experimental-websocket consumer.mjs WS_URL ROOM_ID
// Prints one JSON line with what it saw; exits non-zero on any failure.
import { CanvasDoc, RoomSocket } from "@annotd/client";
import * as Y from "yjs";

const [url, roomId] = process.argv.slice(2);
const LIMIT_MS = 20_000;

/** Resolve when `check()` holds, re-checked on every `event` of `emitter`. */
function until(emitter, event, check, what) {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => { off(); reject(new Error(`timed out waiting for ${what}`)); }, LIMIT_MS);
    const off = emitter.on(event, () => {
      if (check()) { clearTimeout(timer); off(); resolve(); }
    });
  });
}

function client(userId) {
  const doc = new Y.Doc();
  const socket = new RoomSocket({ url, roomId, userId, doc });
  const canvas = new CanvasDoc(doc, userId);
  const seqs = [];
  socket.on("seq", (s) => seqs.push(s));
  socket.on("problem", (p) => { console.error(`${userId}: ${p}`); process.exit(1); });
  socket.connect();
  return { socket, canvas, doc, seqs };
}

const ids = (c) => c.canvas.list().map((a) => a.id).sort();

const alice = client("Alice#sdk");
await until(alice.socket, "synced", () => alice.socket.synced, "alice synced");
// a command through JSON-RPC, typed by the generated table
const created = await alice.socket.call("annotations.upsert", {
  annotation: { id: "byRpc", type: "rect", x: 10, y: 20, w: 30, h: 40 },
});
await until(alice.socket, "seq", () => alice.canvas.get("byRpc") !== null, "alice sees her RPC-created rect");

const bob = client("Bob#sdk");
await until(bob.socket, "synced", () => bob.socket.synced, "bob synced");
if (bob.canvas.get("byRpc") === null) throw new Error("bob's first sync lacks byRpc");
// another client's edit, a plain Yjs write through the package's writer
bob.canvas.create({ id: "byBob", type: "ellipse", x: 1, y: 2, w: 3, h: 4 });
await until(alice.socket, "seq", () => alice.canvas.get("byBob") !== null, "alice sees bob's ellipse");

// alice's socket drops; bob keeps editing; alice comes back asking for replay
const before = alice.socket.lastSeq;
const reconnected = new Promise((resolve) => {
  const off = alice.socket.on("roomInfo", (info) => { off(); resolve(info); });
});
alice.socket.drop();
for (let i = 0; i < 5; i++) bob.canvas.create({ id: `missed${i}`, type: "rect", x: i, y: i, w: 5, h: 5 });
await bob.socket.call("annotations.upsert", { annotation: { id: "missedRpc", type: "rect", x: 0, y: 0, w: 1, h: 1 } });
await until(bob.socket, "pending", () => bob.socket.pendingAcks === 0, "bob's edits acknowledged");
const info = await reconnected;
await until(alice.socket, "synced", () => alice.socket.synced, "alice synced again");
await until(alice.socket, "seq", () => ids(alice).join() === ids(bob).join(), "alice catches up");
const room = await alice.socket.call("rooms.get");
await until(alice.socket, "seq", () => alice.socket.lastSeq === room.headSeq, "alice at the head");

console.log(JSON.stringify({
  created, sync: info.sync, replayFrom: info.replayFrom, lastSeqBeforeDrop: before,
  seqsAfterDrop: alice.seqs.filter((s) => s > before), headSeq: room.headSeq,
  ids: ids(alice),
}));
alice.socket.destroy();
bob.socket.destroy();
