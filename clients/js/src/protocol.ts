/**
 * annotd.v1 wire formats (protocol.md "Binary frames", "Text frames"): y-protocols messages,
 * the seq frame `100 varuint(seq) <message>`, and the JSON messages' types.
 */
import * as Y from "yjs";
import { Reader, Writer } from "./varint.js";

export const SUBPROTOCOL = "annotd.v1";
export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
export const MSG_QUERY_AWARENESS = 3;
export const MSG_SEQ = 100;

export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

/** RFC 6455's normal closure: what this client sends when it closes a socket itself. */
export const NORMAL_CLOSURE = 1000;

/** A binary frame split into its optional seq and the inner y-protocols message. */
export interface Frame {
  seq: number | null;
  kind: number;
  reader: Reader;
}

export function parseFrame(data: Uint8Array): Frame {
  const reader = new Reader(data);
  let kind = reader.uint();
  let seq: number | null = null;
  if (kind === MSG_SEQ) {
    seq = reader.uint();
    kind = reader.uint();
  }
  return { seq, kind, reader };
}

function syncMessage(type: number, payload: Uint8Array): Uint8Array {
  return new Writer().uint(MSG_SYNC).uint(type).blob(payload).bytes();
}

export const syncStep1 = (stateVector: Uint8Array): Uint8Array => syncMessage(SYNC_STEP1, stateVector);
export const syncStep2 = (update: Uint8Array): Uint8Array => syncMessage(SYNC_STEP2, update);
export const syncUpdate = (update: Uint8Array): Uint8Array => syncMessage(SYNC_UPDATE, update);

export function withSeq(seq: number, message: Uint8Array): Uint8Array {
  return new Writer().uint(MSG_SEQ).uint(seq).raw(message).bytes();
}

/**
 * Apply the body of a sync message (after its kind byte) to `doc` as y-protocols' sync
 * protocol says: step 1 (the peer's state vector) is answered with a step 2 carrying what
 * the peer lacks; step 2 and update are applied with `origin`. Returns the sync type and
 * the reply to send, if any.
 */
export function readSync(reader: Reader, doc: Y.Doc, origin: unknown): { type: number; reply: Uint8Array | null } {
  const type = reader.uint();
  const payload = reader.blob();
  switch (type) {
    case SYNC_STEP1:
      return { type, reply: syncStep2(Y.encodeStateAsUpdate(doc, payload)) };
    case SYNC_STEP2:
    case SYNC_UPDATE:
      Y.applyUpdate(doc, payload, origin);
      return { type, reply: null };
    default:
      throw new Error(`unknown sync message type ${type}`);
  }
}

export interface ImageInfo {
  sha256: string;
  width: number;
  height: number;
  mime: string;
}

export interface RoomInfo {
  type: "roomInfo";
  roomId: string;
  name: string;
  createdAt: number;
  seq: number;
  headSeq: number;
  snapshotSeq: number;
  oldestSeq: number;
  epoch: string;
  users: string[];
  clients: number;
  image: ImageInfo | null;
  userId: string;
  session: string;
  sync: "fresh" | "replay" | "resync";
  replayFrom: number | null;
}

/** The visible image-pixel rectangle of a person's canvas (annotd.v1 presence `viewport`). */
export interface Viewport {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PresenceState {
  cursor: { x: number; y: number } | null;
  selection: string[];
  name?: string;
  color?: string;
  typing?: boolean;
  viewport?: Viewport | null;
}

export interface PresenceMessage extends PresenceState {
  type: "presence";
  userId: string;
  session: string;
}

export interface RpcErrorBody {
  code: number;
  message: string;
  data?: { code?: string; field?: string; [k: string]: unknown };
}

/** A JSON-RPC error reply (or a lost connection) as an Error the UI can show in words. */
export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly data?: RpcErrorBody["data"],
  ) {
    super(message);
    this.name = "RpcError";
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
