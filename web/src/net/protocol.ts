/**
 * annotd.v1 wire formats (protocol.md "Binary frames", "Text frames"): y-protocols messages,
 * the seq frame `100 varuint(seq) <message>`, and the JSON messages' types.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";

export const SUBPROTOCOL = "annotd.v1";
export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
export const MSG_QUERY_AWARENESS = 3;
export const MSG_SEQ = 100;

export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

/** Close codes (protocol.md "WebSocket close codes"). */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL: 1002,
  UNSUPPORTED: 1003,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  BAD_REQUEST: 4400,
  NOT_FOUND: 4404,
  TOO_SLOW: 4008,
  DELETED: 4410,
  FULL: 4429,
} as const;

/** A binary frame split into its optional seq and the inner y-protocols message. */
export interface Frame {
  seq: number | null;
  kind: number;
  decoder: decoding.Decoder;
}

export function parseFrame(data: Uint8Array): Frame {
  const decoder = decoding.createDecoder(data);
  let kind = decoding.readVarUint(decoder);
  let seq: number | null = null;
  if (kind === MSG_SEQ) {
    seq = decoding.readVarUint(decoder);
    kind = decoding.readVarUint(decoder);
  }
  return { seq, kind, decoder };
}

function syncMessage(type: number, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_SYNC);
  encoding.writeVarUint(e, type);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

export const syncStep1 = (stateVector: Uint8Array): Uint8Array => syncMessage(SYNC_STEP1, stateVector);
export const syncStep2 = (update: Uint8Array): Uint8Array => syncMessage(SYNC_STEP2, update);
export const syncUpdate = (update: Uint8Array): Uint8Array => syncMessage(SYNC_UPDATE, update);

export function withSeq(seq: number, message: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_SEQ);
  encoding.writeVarUint(e, seq);
  encoding.writeUint8Array(e, message);
  return encoding.toUint8Array(e);
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
