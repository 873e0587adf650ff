/**
 * @annotd/client: what a frontend needs to build on an annotd room, without UI.
 *
 * - `RoomSocket`: the annotd.v1 connection (Yjs sync, seq/ack tracking, replay after a
 *   reconnect, backoff, final close codes) and JSON-RPC calls typed by the server's command
 *   table;
 * - `Presence`: who is in the room, their cursors and selections;
 * - `CanvasDoc` and the readers: the document schema as types, read with the server's
 *   repairs and written the way the server reads it; comment threads read from the document;
 * - the server's constants (close codes, error codes, patterns, limits), generated from its
 *   source.
 */
export * from "./generated/constants.js";
export * from "./generated/commands.js";
export type { RoomParams, RoomResult } from "./commands.js";
export { Emitter, reportError, setErrorSink, type Listener } from "./emitter.js";
export * from "./protocol.js";
export { RpcCalls } from "./rpc.js";
export * from "./socket.js";
export * from "./presence.js";
export * from "./model/schema.js";
export * from "./model/read.js";
export * from "./model/zorder.js";
export * from "./model/geometry.js";
export * from "./model/canvas.js";
export * from "./model/comments.js";
export * from "./model/validate.js";
