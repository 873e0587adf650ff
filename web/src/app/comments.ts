/**
 * Comments: the room's threads as this page sees them (read live from the document), the
 * writes (JSON-RPC on the room socket, so the server validates and stamps author and time),
 * which thread is active, which messages are new to this person, and who is typing.
 *
 * "New": everything in the document when the page first syncs has been seen; a message
 * written later by someone else is new until its thread is opened (or was open, with the
 * Comments panel showing, when it arrived). Kept in memory only: reloading the page starts
 * from "all seen", like most chat tools' "since you arrived".
 */
import {
  boxPoint,
  Emitter,
  isDetached,
  nameFromUserId,
  newId,
  pinOf,
  readThreads,
  type NewAnchor,
  type Thread,
} from "@annotd/client";
import type { RoomApp } from "./room";

export interface CommentsEvents extends Record<string, unknown> {
  /** The threads changed (added, replied, resolved, edited, moved, detached). */
  threads: void;
  /** Pins changed (threads, states, the active one, an anchored annotation deleted). */
  pins: void;
  /** An anchored annotation moved, resized or rotated: only positions changed. */
  moved: void;
  active: string | null;
}

const TYPING_IDLE_MS = 4000;

export class Comments extends Emitter<CommentsEvents> {
  threads: Thread[] = [];
  active: string | null = null;
  showResolved = false;
  private byId = new Map<string, Thread>();
  private seen = new Set<string>();
  private unreadBy = new Map<string, number>();
  private primed = false;
  private anchored = new Set<string>();
  private lastPins = new Map<string, [number, number]>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private app: RoomApp) {
    super();
    app.canvas.comments.observeDeep(() => this.reload());
    app.socket.on("synced", () => {
      this.primed = true;
    });
    app.canvas.onChange((ids) => {
      let moved = false;
      for (const id of ids) {
        if (!this.anchored.has(id)) continue;
        if (!app.canvas.has(id)) {
          this.emit("threads", undefined); // a thread is now detached: the list says so too
          this.emit("pins", undefined);
          return;
        }
        moved = true;
      }
      if (moved) this.emit("moved", undefined);
    });
    this.reload();
  }

  private reload(): void {
    this.threads = readThreads(this.app.canvas.comments);
    this.byId = new Map(this.threads.map((t) => [t.id, t]));
    this.anchored = new Set(this.threads.map((t) => t.anchor.annotationId).filter((id): id is string => id !== null));
    const me = this.app.identity.userId;
    for (const t of this.threads) {
      const watching = t.id === this.active && this.app.shell.activePanel === "comments";
      for (const m of t.messages) {
        if (this.seen.has(m.id)) continue;
        if (!this.primed || m.author === me || watching) this.seen.add(m.id);
      }
    }
    this.countUnread();
    if (this.active !== null && !this.byId.has(this.active)) this.setActive(null);
    this.emit("threads", undefined);
    this.emit("pins", undefined);
  }

  /** New messages in the threads shown (a resolved thread's news count once it is shown). */
  private countUnread(): void {
    this.unreadBy.clear();
    for (const t of this.shown()) {
      const n = t.messages.filter((m) => !this.seen.has(m.id)).length;
      if (n) this.unreadBy.set(t.id, n);
    }
  }

  get(id: string): Thread | undefined {
    return this.byId.get(id);
  }

  unread(id: string): number {
    return this.unreadBy.get(id) ?? 0;
  }

  get unreadTotal(): number {
    let n = 0;
    for (const v of this.unreadBy.values()) n += v;
    return n;
  }

  get openCount(): number {
    return this.threads.filter((t) => t.status === "open").length;
  }

  /** The threads that get a pin (and a number): open ones, and resolved ones on demand. */
  shown(): Thread[] {
    return this.showResolved ? this.threads : this.threads.filter((t) => t.status === "open");
  }

  /** 1, 2, 3… over the shown threads in view order: the same numbers as an export's badges. */
  numberOf(id: string): number | null {
    const i = this.shown().findIndex((t) => t.id === id);
    return i < 0 ? null : i + 1;
  }

  /**
   * Where the thread's pin is now. For a thread whose annotation was just deleted (before the
   * server detaches it, within one tick) the pin stays where it was last seen here, which is
   * where the server puts it.
   */
  pin(t: Thread): [number, number] {
    const a = t.anchor;
    if (a.kind === "annotation" && a.annotationId !== null) {
      const target = this.app.canvas.get(a.annotationId);
      if (target === null) return this.lastPins.get(t.id) ?? [a.x, a.y];
      const p = boxPoint(target, a.offsetX, a.offsetY);
      this.lastPins.set(t.id, p);
      return p;
    }
    return pinOf(t, () => null);
  }

  detached(t: Thread): boolean {
    return isDetached(t, (id) => this.app.canvas.has(id));
  }

  setShowResolved(on: boolean): void {
    this.showResolved = on;
    this.countUnread();
    this.emit("threads", undefined);
    this.emit("pins", undefined);
  }

  /** Make `id` the active thread (its messages are seen); `pan` centres the view on its pin. */
  setActive(id: string | null, pan = false): void {
    const t = id === null ? undefined : this.byId.get(id);
    this.active = t ? t.id : null;
    if (t) {
      if (t.status === "resolved" && !this.showResolved) this.showResolved = true;
      for (const m of t.messages) this.seen.add(m.id);
      this.countUnread();
      if (pan) this.panTo(t);
    }
    this.emit("active", this.active);
    this.emit("threads", undefined);
    this.emit("pins", undefined);
  }

  /** The panel became visible: the active thread's messages are now read. */
  markActiveSeen(): void {
    const t = this.active === null ? undefined : this.byId.get(this.active);
    if (!t) return;
    for (const m of t.messages) this.seen.add(m.id);
    this.countUnread();
    this.emit("threads", undefined);
    this.emit("pins", undefined);
  }

  private panTo(t: Thread): void {
    const [x, y] = this.pin(t);
    const v = this.app.viewport;
    this.app.byUser(() => v.set(v.scale, v.width / 2 - x * v.scale, v.height / 2 - y * v.scale));
  }

  /** A display name: the person's presence name when online, else the name part of the id. */
  nameOf(userId: string): string {
    if (userId === this.app.identity.userId) return this.app.identity.name;
    for (const p of this.app.presence.peers.values()) if (p.userId === userId) return p.name;
    return nameFromUserId(userId) || "someone";
  }

  /** Names of the other people typing now (presence `typing`). */
  typingNames(): string[] {
    const names = new Set<string>();
    for (const p of this.app.presence.peers.values()) if (p.typing) names.add(p.name);
    return [...names].sort();
  }

  /** Our own typing flag: on while keys arrive, off after a pause or when the box closes. */
  typing(on: boolean): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    if (on) this.typingTimer = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
    if (this.app.presence.state.typing !== on) this.app.presence.set({ typing: on });
  }

  // -- writes (the server validates, stamps and answers in words) -------------------------
  async create(anchor: NewAnchor, body: string): Promise<string> {
    const id = newId();
    await this.app.socket.call("comments.create", { id, anchor, body });
    return id;
  }

  async reply(threadId: string, body: string): Promise<void> {
    await this.app.socket.call("comments.reply", { commentId: threadId, body });
  }

  async edit(threadId: string, messageId: string, body: string): Promise<void> {
    await this.app.socket.call("comments.update", { commentId: threadId, action: "edit", messageId, body });
  }

  async remove(threadId: string, messageId: string): Promise<void> {
    await this.app.socket.call("comments.update", { commentId: threadId, action: "delete", messageId });
  }

  async setStatus(threadId: string, resolved: boolean): Promise<void> {
    await this.app.socket.call("comments.update", { commentId: threadId, action: resolved ? "resolve" : "reopen" });
  }
}
