/**
 * JSON presence (protocol.md "Presence and awareness"): who is here, their cursor, selection,
 * viewport (for follow) and typing flag. Never stored in the document.
 *
 * Sending is rate-limited to MAX_HZ (the server relays at most limits.presence_max_hz per
 * socket and coalesces the rest): the latest state wins, and a heartbeat every HEARTBEAT_MS
 * keeps our entry alive (the server drops entries silent for rooms.presence_ttl_s).
 */
import { Emitter } from "./emitter.js";
import { PRESENCE_MAX_HZ, PRESENCE_TTL_S } from "./generated/constants.js";
import type { PresenceMessage, PresenceState, Viewport } from "./protocol.js";
import type { RoomSocket } from "./socket.js";

/** The server's default relay rate: sending faster only gets coalesced. */
export const MAX_HZ = PRESENCE_MAX_HZ;
/** A third of the server's default time-to-live, so one lost heartbeat does not drop us. */
const HEARTBEAT_MS = (PRESENCE_TTL_S * 1000) / 3;

export interface Peer {
  session: string;
  userId: string;
  name: string;
  color: string;
  cursor: { x: number; y: number } | null;
  selection: string[];
  viewport: Viewport | null;
  typing: boolean;
}

/** A display name for a user id without presence: "Alice#k3f9" → "Alice". */
export function nameFromUserId(userId: string): string {
  const i = userId.lastIndexOf("#");
  return i > 0 ? userId.slice(0, i) : userId;
}

export class Presence extends Emitter<{ change: void }> {
  readonly peers = new Map<string, Peer>();
  private local: PresenceState;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = 0;
  private heartbeat: ReturnType<typeof setInterval>;

  constructor(
    private socket: RoomSocket,
    name: string,
    color: string,
  ) {
    super();
    this.local = { cursor: null, selection: [], name, color, typing: false, viewport: null };
    socket.on("presence", (m) => this.upsert(m));
    socket.on("presenceSnapshot", (list) => {
      this.peers.clear();
      for (const m of list) this.upsert(m, false);
      this.emit("change", undefined);
    });
    socket.on("presenceLeft", ({ session }) => {
      if (this.peers.delete(session)) this.emit("change", undefined);
    });
    socket.on("roomInfo", () => {
      this.peers.clear();
      this.emit("change", undefined);
    });
    socket.on("synced", () => this.flush());
    this.heartbeat = setInterval(() => this.flush(), HEARTBEAT_MS);
  }

  private upsert(m: PresenceMessage, emit = true): void {
    if (m.session === this.socket.session) return;
    this.peers.set(m.session, {
      session: m.session,
      userId: m.userId,
      name: typeof m.name === "string" && m.name ? m.name : nameFromUserId(m.userId),
      color: typeof m.color === "string" && /^#[0-9a-fA-F]{6}$/.test(m.color) ? m.color : "#868e96",
      cursor: m.cursor ?? null,
      selection: Array.isArray(m.selection) ? m.selection : [],
      viewport: m.viewport ?? null,
      typing: m.typing === true,
    });
    if (emit) this.emit("change", undefined);
  }

  get state(): Readonly<PresenceState> {
    return this.local;
  }

  /** Change some of our presence fields; sent at most MAX_HZ times a second. */
  set(patch: Partial<PresenceState>): void {
    this.local = { ...this.local, ...patch };
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastSent + 1000 / MAX_HZ - performance.now());
    if (wait === 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.socket.sendPresence(this.local)) this.lastSent = performance.now();
  }

  destroy(): void {
    clearInterval(this.heartbeat);
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
