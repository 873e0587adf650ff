/**
 * The retained history range (`oldestSeq`…`headSeq`, from roomInfo and rooms.get, kept
 * current from seq frames and `snapshots.created`) and what happened at each step
 * (`history.events`: who, when, which annotations, threads, image), fetched around the
 * step asked for and kept (a step never changes within a room's epoch).
 */
import { Emitter, isObject } from "@annotd/client";
import type { RoomApp } from "./room";

export interface Step {
  seq: number;
  /** Seconds since the epoch. */
  ts: number;
  userId: string;
  annotations: { created: string[]; updated: string[]; deleted: string[] };
  types: Record<string, string>;
  comments: string[];
  image: boolean;
}

/** Steps fetched on each side of the one asked for (one request per ~2 × AROUND steps). */
const AROUND = 40;

export class HistoryRange extends Emitter<{ range: void }> {
  oldest = 0;
  head = 0;
  private steps = new Map<number, Step>();
  private epoch: string | null = null;
  private inflight = new Map<number, Promise<void>>();

  constructor(private app: RoomApp) {
    super();
    app.socket.on("roomInfo", (info) => {
      if (this.epoch !== info.epoch) this.steps.clear();
      this.epoch = info.epoch;
      this.set(info.oldestSeq, info.headSeq);
    });
    app.socket.on("seq", (seq) => this.set(this.oldest, Math.max(this.head, seq)));
    app.socket.on("synced", () => void this.refresh());
    app.socket.on("notification", ({ method }) => {
      if (method === "snapshots.created") void this.refresh();
    });
  }

  private set(oldest: number, head: number): void {
    if (oldest === this.oldest && head === this.head) return;
    this.oldest = oldest;
    this.head = head;
    this.emit("range", undefined);
  }

  /** Ask the server for the current range (the oldest retained seq moves as it prunes). */
  async refresh(): Promise<void> {
    try {
      const room = await this.app.socket.call<{ oldestSeq: number; headSeq: number }>("rooms.get");
      this.set(room.oldestSeq, Math.max(room.headSeq, this.app.socket.lastSeq ?? 0));
    } catch {
      /* offline: the next sync asks again */
    }
  }

  /** What happened at `seq` (null when that step is not described: at or before oldestSeq). */
  async step(seq: number): Promise<Step | null> {
    if (seq <= this.oldest || seq > this.head) return null;
    const have = this.steps.get(seq);
    if (have) return have;
    const from = Math.max(this.oldest + 1, seq - AROUND);
    const to = Math.min(this.head, seq + AROUND);
    let p = this.inflight.get(from);
    if (p === undefined) {
      p = this.fetch(from, to).finally(() => this.inflight.delete(from));
      this.inflight.set(from, p);
    }
    await p;
    return this.steps.get(seq) ?? null;
  }

  private async fetch(from: number, to: number): Promise<void> {
    const res = await this.app.socket.call<{ events: unknown[] }>("history.events", { fromSeq: from, toSeq: to });
    for (const e of res.events) {
      if (isObject(e) && typeof e.seq === "number") this.steps.set(e.seq, e as unknown as Step);
    }
  }
}
