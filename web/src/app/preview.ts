/**
 * Read-only previews of the past: a named version or any retained step, drawn from the
 * server's `annotations.list` at that tag or seq (with that step's base image) instead of
 * the live document, under a bar that says what is shown and leads back to live. The live
 * document keeps syncing underneath (the bar shows where live is); nothing can be edited
 * while previewing (RoomApp.setPreview makes the page read-only).
 *
 * One preview at a time; when several are asked for in a row (a scrubber being dragged)
 * only the latest answer is shown.
 */
import { Emitter, readAnnotation, readImage, type Annotation, type ImageRef, type RoomSocket } from "@annotd/client";
import type { ToolId } from "../tools/tool";
import { button, countChanges, h } from "../ui/dom";
import { icon } from "../ui/icons";
import type { Shell } from "../ui/shell";

/** Reading a past canvas needs only the room socket. */
interface CanvasAtContext {
  readonly socket: Pick<RoomSocket, "call">;
}

/**
 * A preview reads the past over the socket, wraps two commands (Escape and select-all mean
 * something else while previewing) and asks the room to draw it read-only.
 */
interface PreviewContext {
  readonly socket: Pick<RoomSocket, "call" | "on" | "lastSeq">;
  readonly commands: ReadonlyMap<string, () => void>;
  readonly shell: Pick<Shell, "banner">;
  readonly tool: ToolId;
  registerCommand(id: string, fn: () => void): void;
  setPreview(list: Annotation[] | null, banner?: Node[] | null, image?: ImageRef | null): void;
  setTool(id: ToolId): void;
}

type PreviewTarget = { kind: "tag"; tag: string; seq: number } | { kind: "seq"; seq: number };

interface CanvasAt {
  seq: number;
  annotations: Annotation[];
  image: ImageRef | null;
}

interface ListResult {
  seq: number;
  annotations: Record<string, unknown>[];
  image?: unknown;
}

/** The canvas at a tag or seq, read from the server and repaired like the live document. */
export async function canvasAt(app: CanvasAtContext, target: { tag: string } | { seq: number }): Promise<CanvasAt> {
  const res = await app.socket.call<ListResult>("annotations.list", target);
  const annotations: Annotation[] = [];
  for (const raw of res.annotations) {
    const a = readAnnotation(String(raw.id), raw);
    if (a !== null) annotations.push(a);
  }
  return { seq: res.seq, annotations, image: readImage(res.image ?? null) };
}

export class Preview extends Emitter<{ change: PreviewTarget | null }> {
  current: PreviewTarget | null = null;
  /** What is drawn (the previewed annotations). */
  shown: CanvasAt | null = null;
  /** Milliseconds the last preview took from asking to drawn (benchmarks read it). */
  lastMs = 0;
  private token = 0;
  private toolBefore: ToolId = "select";
  private live: HTMLElement = h("span", { class: "live-seq" });

  constructor(private app: PreviewContext) {
    super();
    app.socket.on("seq", () => this.showLive());
    const deselect = app.commands.get("deselect");
    app.registerCommand("deselect", () => {
      if (this.current !== null) this.exit();
      else deselect?.();
    });
    const selectAll = app.commands.get("selectAll");
    app.registerCommand("selectAll", () => {
      if (this.current === null) selectAll?.(); // the live selection means nothing on a preview
    });
  }

  private showLive(): void {
    if (this.current === null) return;
    const head = this.app.socket.lastSeq ?? 0;
    // People read how far live has moved on; the seqs are for developers (tooltip).
    this.live.textContent = head > this.current.seq ? ` · live has ${countChanges(head - this.current.seq)} since` : "";
    this.live.title = `shown: seq ${this.current.seq}; live: seq ${head}`;
  }

  /**
   * Show `target` read-only. `label` names it in the bar (text or a node, e.g. with a time), `actions` are extra bar buttons
   * (e.g. restore). Resolves false when a later call replaced this one before it arrived;
   * rejects (RpcError) when the server cannot show it (pruned, unknown tag, offline).
   */
  async show(target: PreviewTarget, label: string | Node, actions: HTMLButtonElement[] = []): Promise<boolean> {
    const token = ++this.token;
    const t0 = performance.now();
    const at = await canvasAt(this.app, target.kind === "tag" ? { tag: target.tag } : { seq: target.seq });
    if (token !== this.token) return false;
    if (this.current === null) this.toolBefore = this.app.tool;
    this.current = target.kind === "tag" ? { ...target, seq: at.seq } : target;
    this.shown = at;
    const back = button("Back to live", { text: "Back to live", cls: "primary", onClick: () => this.exit() });
    back.setAttribute("aria-keyshortcuts", "Escape");
    this.app.setPreview(at.annotations, [
      icon("history"),
      h("span", { class: "preview-label" }, h("strong", {}, label), " — read-only", this.live),
      ...actions,
      back,
    ], at.image);
    this.app.shell.banner.style.setProperty("--c", "var(--focus)");
    this.app.shell.banner.dataset.preview = target.kind;
    this.app.setTool("hand");
    this.showLive();
    this.lastMs = performance.now() - t0;
    this.emit("change", this.current);
    return true;
  }

  /** Back to the live canvas. */
  exit(): void {
    this.token++;
    if (this.current === null) return;
    this.current = null;
    this.shown = null;
    delete this.app.shell.banner.dataset.preview;
    this.app.setPreview(null);
    this.app.setTool(this.toolBefore === "hand" ? "select" : this.toolBefore);
    this.emit("change", null);
  }
}
