/**
 * Named versions: the list (fetched on every sync, so a reconnect catches up, and kept live
 * from `versions.created` / `versions.reverted`), creating a tag, what a revert would change,
 * and the revert itself. Undo stacks are cleared by RoomApp on `versions.reverted`; here
 * every browser also says who restored what.
 */
import { Emitter, MAX_VERSION_NAME_LENGTH, isObject, type Annotation, type CanvasDoc, type RoomSocket } from "@annotd/client";
import type { Identity } from "../ui/dialog";
import { toast } from "../ui/toast";
import type { Comments } from "./comments";
import { canvasAt } from "./preview";

/** Versions talk to the server, compare with the live canvas and name who restored. */
interface VersionsContext {
  readonly socket: Pick<RoomSocket, "call" | "on">;
  readonly canvas: Pick<CanvasDoc, "list">;
  readonly comments: Pick<Comments, "nameOf">;
  readonly identity: Pick<Identity, "userId">;
}

export interface Version {
  /** The id (URL- and file-safe): what revert, previews and exports name. */
  tag: string;
  /** What people read ("Review 1"); the tag for a version given none. */
  name: string;
  seq: number;
  /** Seconds since the epoch. */
  createdAt: number;
  createdBy: string;
}

interface RevertSummary {
  added: number;
  removed: number;
  changed: number;
}

/**
 * Why a version name is not acceptable, in words (null when it is). Names are free text
 * ("Review 1"); the server derives the version's tag from it.
 */
export function nameProblem(name: string): string | null {
  if (!name.trim()) return "Give the version a name.";
  if (name.trim().length > MAX_VERSION_NAME_LENGTH) return `A version name has at most ${MAX_VERSION_NAME_LENGTH} characters.`;
  if (/[\x00-\x1f\x7f]/.test(name)) return "A version name is one line of text.";
  return null;
}

function readVersion(v: unknown): Version | null {
  if (!isObject(v) || typeof v.tag !== "string" || typeof v.seq !== "number") return null;
  return { tag: v.tag, name: typeof v.name === "string" && v.name ? v.name : v.tag, seq: v.seq, createdAt: typeof v.createdAt === "number" ? v.createdAt : 0, createdBy: typeof v.createdBy === "string" ? v.createdBy : "" };
}

const comparable = (a: Annotation) => JSON.stringify({ ...a, createdBy: "", updatedBy: "", updatedAt: 0 });

/** How the live canvas would change to become `target`. */
function revertSummary(live: Annotation[], target: Annotation[]): RevertSummary {
  const now = new Map(live.map((a) => [a.id, a]));
  const then = new Map(target.map((a) => [a.id, a]));
  let added = 0, removed = 0, changed = 0;
  for (const [id, a] of then) {
    const cur = now.get(id);
    if (cur === undefined) added++;
    else if (comparable(cur) !== comparable(a)) changed++;
  }
  for (const id of now.keys()) if (!then.has(id)) removed++;
  return { added, removed, changed };
}

export class Versions extends Emitter<{ change: void }> {
  list: Version[] = [];
  loaded = false;

  constructor(private app: VersionsContext) {
    super();
    app.socket.on("synced", () => void this.refresh());
    app.socket.on("notification", ({ method, params }) => {
      if (method === "versions.created") {
        const v = readVersion(params);
        if (v !== null) this.upsert(v);
      } else if (method === "versions.reverted") {
        const who = typeof params.revertedBy === "string" ? params.revertedBy : "";
        const name = who ? this.app.comments.nameOf(who) : "Someone";
        toast(`${who === this.app.identity.userId ? "You" : name} restored version “${this.nameOf(String(params.tag))}”.`);
        this.emit("change", undefined);
      }
    });
  }

  private upsert(v: Version): void {
    this.list = [...this.list.filter((x) => x.tag !== v.tag), v].sort((a, b) => a.seq - b.seq || (a.tag < b.tag ? -1 : 1));
    this.emit("change", undefined);
  }

  async refresh(): Promise<void> {
    try {
      const res = await this.app.socket.call<{ versions: unknown[] }>("versions.list");
      this.list = res.versions.map(readVersion).filter((v): v is Version => v !== null);
      this.loaded = true;
      this.emit("change", undefined);
    } catch {
      /* disconnected again: the next sync asks again */
    }
  }

  get(tag: string): Version | undefined {
    return this.list.find((v) => v.tag === tag);
  }

  /** The name people gave the version `tag` (the tag itself when unknown). */
  nameOf(tag: string): string {
    return this.get(tag)?.name ?? tag;
  }

  /** Name the head (the server derives the tag, validates again and answers in words). */
  async create(name: string): Promise<Version> {
    const v = readVersion(await this.app.socket.call("versions.create", { name: name.trim() }));
    if (v === null) throw new Error("the server's answer was not a version");
    this.upsert(v);
    return v;
  }

  /** What restoring `tag` would add, remove and change on the live canvas now. */
  async summary(tag: string): Promise<RevertSummary> {
    const at = await canvasAt(this.app, { tag });
    return revertSummary(this.app.canvas.list(), at.annotations);
  }

  async revert(tag: string): Promise<{ seq: number }> {
    return this.app.socket.call<{ seq: number }>("versions.revert", { tag });
  }
}
