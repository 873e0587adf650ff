/**
 * RoomSocket: annotd's own Yjs provider for one room over one annotd.v1 WebSocket.
 *
 * Why not y-websocket's WebsocketProvider: it reads every frame as binary (a text frame
 * throws per message), cannot unwrap seq frames and knows nothing of lastSeq/epoch. This is
 * the whole provider annotd needs, on y-protocols + lib0:
 *
 * - binary: `100 seq <msg>` is unwrapped and `seq` recorded; sync messages go through
 *   y-protocols (step 1 is answered with step 2, so offline edits go up); awareness from
 *   stock clients is ignored (the UI uses JSON presence);
 * - text: JSON — acks (lastSeq), roomInfo (epoch), presence*, JSON-RPC replies (to
 *   net/rpc.ts: one promise per id) and notifications;
 * - reconnect with exponential backoff and `lastSeq`/`epoch` so the server replays exactly
 *   what was missed (or resyncs); the close codes the server's table marks final (a
 *   deleted room, a refused edit, a protocol error…) end it for good and are reported.
 *
 * Nothing here throws into the page: failures become state changes or 'problem' events.
 */
import * as Y from "yjs";
import type { RoomParams, RoomResult } from "./commands.js";
import { Emitter } from "./emitter.js";
import type { Method } from "./generated/commands.js";
import { CLOSE, CLOSE_CODES } from "./generated/constants.js";
import {
  MSG_SYNC,
  NORMAL_CLOSURE,
  RpcError,
  SUBPROTOCOL,
  SYNC_STEP2,
  isObject,
  parseFrame,
  readSync,
  syncStep1,
  syncUpdate,
  type PresenceMessage,
  type PresenceState,
  type RoomInfo,
} from "./protocol.js";
import { RpcCalls } from "./rpc.js";

export type ConnState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

export interface Closed {
  code: number;
  /** What the server said when it closed (may be empty). */
  reason: string;
  /** Reconnecting cannot help; this socket will not try again. */
  final: boolean;
  /** What the code means, from the server's table ("" for a code it does not send). */
  meaning: string;
}

export interface SocketEvents extends Record<string, unknown> {
  state: ConnState;
  roomInfo: RoomInfo;
  /** The server's state has been applied (first sync after each (re)connect). */
  synced: number;
  seq: number;
  presence: PresenceMessage;
  presenceLeft: { userId: string; session: string };
  presenceSnapshot: PresenceMessage[];
  notification: { method: string; params: Record<string, unknown> };
  closed: Closed;
  /** Something went wrong that the user may want to know about (in words). */
  problem: string;
  /** Unacknowledged local updates changed (0 = everything saved on the server). */
  pending: number;
}

export interface RoomSocketOptions {
  /** ws://host:port (no path). */
  url: string;
  roomId: string;
  userId: string;
  doc: Y.Doc;
  WebSocketImpl?: typeof WebSocket;
  /** Ceiling of the reconnect backoff (ms). */
  maxBackoffMs?: number;
  /** Where the backoff's jitter comes from (tests pin it). */
  random?: () => number;
}

/** The first reconnect waits about this long; each failed attempt doubles it. */
export const FIRST_BACKOFF_MS = 250;

/** Whether a close code ends the connection for good (the server's table says so). */
export function isFinalClose(code: number): boolean {
  return CLOSE_CODES[code]?.final === true;
}

export class RoomSocket extends Emitter<SocketEvents> {
  readonly doc: Y.Doc;
  readonly roomId: string;
  readonly userId: string;
  state: ConnState = "connecting";
  lastSeq: number | null = null;
  epoch: string | null = null;
  info: RoomInfo | null = null;
  session: string | null = null;
  pendingAcks = 0;
  /** Local edits made while no socket was open (they go up with the next sync exchange). */
  unsent = false;
  synced = false;
  private ws: WebSocket | null = null;
  private url: string;
  private WS: typeof WebSocket;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;
  private rpc = new RpcCalls();
  private maxBackoff: number;
  private random: () => number;
  private onOnline = () => this.reconnectNow();
  private onOffline = () => this.setState("offline");

  constructor(opts: RoomSocketOptions) {
    super();
    this.doc = opts.doc;
    this.roomId = opts.roomId;
    this.userId = opts.userId;
    this.url = opts.url.replace(/\/+$/, "");
    this.WS = opts.WebSocketImpl ?? WebSocket;
    this.maxBackoff = opts.maxBackoffMs ?? 10_000;
    this.random = opts.random ?? Math.random;
    this.doc.on("update", this.onDocUpdate);
    if (typeof window !== "undefined") {
      window.addEventListener("online", this.onOnline);
      window.addEventListener("offline", this.onOffline);
    }
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  private setState(s: ConnState): void {
    if (this.state !== s) {
      this.state = s;
      this.emit("state", s);
    }
  }

  private socketUrl(): string {
    const q = new URLSearchParams({ userId: this.userId });
    if (this.lastSeq !== null && this.epoch !== null) {
      q.set("lastSeq", String(this.lastSeq));
      q.set("epoch", this.epoch);
    }
    return `${this.url}/v1/ws/rooms/${encodeURIComponent(this.roomId)}?${q.toString()}`;
  }

  connect(): void {
    if (this.destroyed || this.ws !== null) return;
    this.setState(this.attempts === 0 && this.info === null ? "connecting" : "reconnecting");
    let ws: WebSocket;
    try {
      ws = new this.WS(this.socketUrl(), SUBPROTOCOL);
    } catch (err) {
      this.emit("problem", `cannot open the connection: ${String(err)}`);
      this.scheduleReconnect(false);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      // Our step 1 first: the server answers with the state we miss (in a seq frame).
      this.sendRaw(syncStep1(Y.encodeStateVector(this.doc)));
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws) return;
      try {
        if (typeof ev.data === "string") this.onText(ev.data);
        else this.onBinary(new Uint8Array(ev.data as ArrayBuffer));
      } catch (err) {
        // A frame we cannot read: resync from a clean connection rather than diverge.
        this.emit("problem", `unreadable message from the server (${String(err)}); reconnecting`);
        this.lastSeq = null;
        ws.close(NORMAL_CLOSURE, "client could not read a frame");
      }
    };
    ws.onerror = () => {
      /* followed by onclose, which decides what to do */
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.synced = false;
      this.rpc.failAll("the connection was lost before the server answered");
      const final = isFinalClose(ev.code) && !this.destroyed;
      this.emit("closed", { code: ev.code, reason: ev.reason, final, meaning: CLOSE_CODES[ev.code]?.meaning ?? "" });
      if (this.destroyed) return;
      if (final) {
        this.setState("closed");
        this.detachWindow();
        return;
      }
      this.scheduleReconnect(ev.code === CLOSE.TOO_SLOW);
    };
  }

  private scheduleReconnect(immediate: boolean): void {
    if (this.destroyed || this.retryTimer !== null) return;
    const offline = typeof navigator !== "undefined" && navigator.onLine === false;
    this.setState(offline ? "offline" : "reconnecting");
    const base = Math.min(this.maxBackoff, FIRST_BACKOFF_MS * 2 ** this.attempts);
    const delay = immediate && this.attempts === 0 ? 0 : base * (0.5 + this.random() / 2);
    this.attempts++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  /** Reconnect at once (the browser came back online, or the user asked). */
  reconnectNow(): void {
    if (this.destroyed || this.ws !== null) return;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.connect();
  }

  /** Drop the connection (tests and "work offline"); it comes back by itself. */
  drop(): void {
    this.ws?.close(NORMAL_CLOSURE, "client dropped the connection");
  }

  destroy(): void {
    this.destroyed = true;
    this.doc.off("update", this.onDocUpdate);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.detachWindow();
    const ws = this.ws;
    this.ws = null;
    this.rpc.failAll("the room was closed");
    if (ws !== null) ws.close(NORMAL_CLOSURE, "client left");
    this.setState("closed");
  }

  private detachWindow(): void {
    if (typeof window !== "undefined") {
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
    }
  }

  private sendRaw(data: Uint8Array | string): boolean {
    const ws = this.ws;
    if (ws === null || ws.readyState !== 1) return false;
    ws.send(data);
    return true;
  }

  private setPending(n: number): void {
    this.pendingAcks = Math.max(0, n);
    this.emit("pending", this.pendingAcks);
  }

  private onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this) return; // came from the server
    // Sent whenever the socket is open (also before the first sync: an update is idempotent).
    if (this.sendRaw(syncUpdate(update))) this.setPending(this.pendingAcks + 1);
    else {
      this.unsent = true; // goes up as our sync step 2 on the next connection
      this.emit("pending", this.pendingAcks);
    }
  };

  private noteSeq(seq: number): void {
    if (this.lastSeq === null || seq > this.lastSeq) {
      this.lastSeq = seq;
      this.emit("seq", seq);
    }
  }

  private onBinary(data: Uint8Array): void {
    const frame = parseFrame(data);
    if (frame.kind === MSG_SYNC) {
      const { type: syncType, reply } = readSync(frame.reader, this.doc, this);
      if (reply !== null) {
        // our step 2 in answer to the server's step 1: edits made while offline
        if (this.sendRaw(reply)) {
          this.unsent = false;
          this.setPending(this.pendingAcks + 1);
        }
      }
      if (frame.seq !== null) this.noteSeq(frame.seq);
      if (syncType === SYNC_STEP2 && !this.synced) {
        this.synced = true;
        this.attempts = 0;
        this.setState("connected");
        this.emit("synced", this.lastSeq ?? 0);
      }
      return;
    }
    if (frame.seq !== null) this.noteSeq(frame.seq);
    // awareness (1) and anything else: not used by this client
  }

  private onText(text: string): void {
    const msg: unknown = JSON.parse(text);
    if (Array.isArray(msg)) {
      for (const m of msg) this.onJson(m);
      return;
    }
    this.onJson(msg);
  }

  private onJson(msg: unknown): void {
    if (!isObject(msg)) return;
    if (msg.jsonrpc === "2.0") {
      if (typeof msg.method === "string" && !("id" in msg)) {
        // the room's name is metadata the server announces: keep `info` current for readers
        if (msg.method === "rooms.renamed" && this.info && isObject(msg.params) && typeof msg.params.name === "string") {
          this.info = { ...this.info, name: msg.params.name };
        }
        this.emit("notification", { method: msg.method, params: isObject(msg.params) ? msg.params : {} });
        return;
      }
      this.rpc.settle(msg);
      return;
    }
    switch (msg.type) {
      case "ack":
        if (typeof msg.seq === "number") this.noteSeq(msg.seq);
        this.setPending(this.pendingAcks - 1);
        return;
      case "roomInfo": {
        const info = msg as unknown as RoomInfo;
        this.info = info;
        this.epoch = info.epoch;
        this.session = info.session;
        this.pendingAcks = 0;
        if (info.sync !== "replay") this.lastSeq = null; // the step-2 answer brings us to a seq
        this.emit("roomInfo", info);
        return;
      }
      case "presence":
        this.emit("presence", msg as unknown as PresenceMessage);
        return;
      case "presenceLeft":
        this.emit("presenceLeft", { userId: String(msg.userId), session: String(msg.session) });
        return;
      case "presenceSnapshot":
        this.emit("presenceSnapshot", Array.isArray(msg.sessions) ? (msg.sessions as PresenceMessage[]) : []);
        return;
      case "error": {
        const e = isObject(msg.error) ? msg.error : {};
        this.emit("problem", `the server refused a message: ${String(e.message ?? "unknown error")}`);
        return;
      }
      default:
        return;
    }
  }

  /**
   * A JSON-RPC call on this socket; rejects with an RpcError (never throws synchronously).
   * A known method is typed by the generated command table (its `roomId` is this room's
   * unless given); any other name is sent as it is and its result is what the caller says.
   */
  call<M extends Method>(method: M, params?: RoomParams<M>, timeoutMs?: number): Promise<RoomResult<M>>;
  call<T = unknown>(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  call(method: string, params: object = {}, timeoutMs = 30_000): Promise<unknown> {
    if (!this.connected) return Promise.reject(new RpcError("not connected to the server; try again when the connection is back", -32000));
    return this.rpc.call<unknown>(method, params as Record<string, unknown>, timeoutMs, (text) => this.sendRaw(text));
  }

  /** A JSON-RPC notification (no answer). */
  notify(method: string, params: Record<string, unknown> = {}): void {
    this.sendRaw(JSON.stringify({ jsonrpc: "2.0", method, params }));
  }

  sendPresence(state: PresenceState): boolean {
    return this.sendRaw(JSON.stringify({ type: "presence", ...state }));
  }
}
