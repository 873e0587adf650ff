/**
 * RoomApp: one room's page, composed from the modules — the Yjs doc and its provider
 * (net/socket), the document model (model/), the SVG scene and overlay (render/), tools, and
 * the shell with its panels (ui/). This is the object panels receive; its public members
 * are the API issue 9 builds on (see web/DESIGN.md "Module map").
 */
import * as Y from "yjs";
import { CanvasDoc } from "../model/canvas";
import { STYLE_DEFAULTS, type Annotation, type Arrowhead, type ImageRef, type Style } from "../model/schema";
import { Undo } from "../model/undo";
import { reportError } from "../net/emitter";
import { Presence } from "../net/presence";
import { CLOSE } from "../net/protocol";
import { RoomSocket, type ConnState } from "../net/socket";
import { Overlay } from "../render/overlay";
import { Scene } from "../render/scene";
import { TextLayout } from "../render/text";
import { Viewport } from "../render/viewport";
import { BoxTool, FreehandTool, LineTool, PolygonTool } from "../tools/draw";
import { SelectTool } from "../tools/select";
import { TextEditor, TextTool } from "../tools/text";
import type { Tool, ToolContext, ToolId } from "../tools/tool";
import { askIdentity, type Identity } from "../ui/dialog";
import { button, h } from "../ui/dom";
import { showHelp } from "../ui/help";
import { icon } from "../ui/icons";
import { titleFor } from "../ui/keymap";
import { exportButton } from "../ui/export-dialog";
import { commentsPanel } from "../ui/panels/comments";
import { historyPanel } from "../ui/panels/history";
import { peoplePanel } from "../ui/panels/people";
import { stylePanel } from "../ui/panels/style";
import { versionsPanel } from "../ui/panels/versions";
import { Shell } from "../ui/shell";
import { toast } from "../ui/toast";
import { Comments } from "./comments";
import { HistoryRange } from "./history";
import { imageUrl, uploadImage, wsBase, type ClientConfig } from "./http";
import { attachInput } from "./input";
import { Preview } from "./preview";
import { Selection } from "./selection";
import { Versions } from "./versions";

const TOOL_BUTTONS: { id: ToolId; label: string }[] = [
  { id: "select", label: "Select" },
  { id: "hand", label: "Hand (pan)" },
  { id: "rect", label: "Rectangle" },
  { id: "ellipse", label: "Ellipse" },
  { id: "line", label: "Line" },
  { id: "arrow", label: "Arrow" },
  { id: "polygon", label: "Polygon" },
  { id: "freehand", label: "Freehand" },
  { id: "text", label: "Text" },
];

const STATUS_TEXT: Record<ConnState, string> = {
  connecting: "◌ Connecting…",
  connected: "● Connected",
  reconnecting: "◌ Reconnecting… your edits are kept",
  offline: "○ Offline — your edits are kept and sent when back",
  closed: "✕ Disconnected",
};

class HandTool implements Tool {
  readonly id = "hand" as const;
  readonly cursor = "grab";
  down(): void {}
  move(): void {}
  up(): void {}
}

export class RoomApp {
  readonly doc = new Y.Doc();
  readonly canvas: CanvasDoc;
  readonly socket: RoomSocket;
  readonly presence: Presence;
  readonly selection = new Selection();
  readonly undo: Undo;
  readonly viewport = new Viewport();
  readonly layout = new TextLayout();
  readonly shell: Shell;
  readonly scene: Scene;
  readonly overlay: Overlay;
  readonly editor: TextEditor;
  readonly commands = new Map<string, () => void>();
  /** Issue 9: comment threads, read-only previews, named versions, the retained seq range. */
  readonly comments: Comments;
  readonly preview: Preview;
  readonly versions: Versions;
  readonly history: HistoryRange;
  tool: ToolId = "select";
  /** Measured on this page (benchmarks read them): the first full render after the first sync. */
  readonly timings: { firstRenderMs?: number; firstFrameMs?: number; annotations?: number } = {};
  following: string | null = null;
  private tools = new Map<ToolId, Tool>();
  private toolButtons = new Map<ToolId, HTMLButtonElement>();
  private style: Style = { ...STYLE_DEFAULTS };
  private arrowheads = { line: { startArrowhead: "none" as Arrowhead, endArrowhead: "none" as Arrowhead }, arrow: { startArrowhead: "none" as Arrowhead, endArrowhead: "arrow" as Arrowhead } };
  private styleListeners = new Set<() => void>();
  private followListeners = new Set<() => void>();
  private readOnlyReason: string | null = null;
  private previewListeners = new Set<(on: boolean) => void>();
  /** While previewing: the image of the previewed step (undefined when live). */
  private previewImage: ImageRef | null | undefined = undefined;
  private fitted = false;
  private emptyState: HTMLElement;
  private status: HTMLElement;
  private undoBtn!: HTMLButtonElement;
  private redoBtn!: HTMLButtonElement;
  private zoomLabel!: HTMLButtonElement;

  constructor(
    parent: HTMLElement,
    readonly roomId: string,
    readonly config: ClientConfig,
    public identity: Identity,
  ) {
    this.layout.metrics = config.fonts;
    this.canvas = new CanvasDoc(this.doc, identity.userId);
    this.socket = new RoomSocket({ url: wsBase(config), roomId, userId: identity.userId, doc: this.doc });
    this.presence = new Presence(this.socket, identity.name, identity.color);
    this.undo = new Undo(this.canvas, () => [...this.selection.ids], (ids) => this.selection.set(ids));
    this.shell = new Shell(parent, roomId);
    this.scene = new Scene(this.shell.stage, this.canvas, this.viewport, this.layout);
    this.overlay = new Overlay(this.scene.overlay, this.canvas, this.viewport);
    const ctx = this.toolContext();
    this.editor = new TextEditor(this.shell.stage, ctx, {
      onTyping: (typing) => this.presence.set({ typing }),
      onDone: () => this.shell.stage.focus(),
    });
    this.shell.stage.appendChild(h("div", { class: "text-draft-box" }));
    for (const t of [new SelectTool(ctx), new HandTool(), new BoxTool(ctx, "rect"), new BoxTool(ctx, "ellipse"), new LineTool(ctx, "line"),
      new LineTool(ctx, "arrow"), new PolygonTool(ctx), new FreehandTool(ctx), new TextTool(ctx)]) this.tools.set(t.id, t);
    this.emptyState = h("div", { class: "empty-state" });
    this.shell.stage.appendChild(this.emptyState);
    this.status = this.shell.status;
    this.buildToolbar();
    this.registerCommands();
    this.comments = new Comments(this);
    this.preview = new Preview(this);
    this.versions = new Versions(this);
    this.history = new HistoryRange(this);
    this.shell.addPanel(stylePanel(this));
    this.shell.addPanel(peoplePanel(this));
    this.shell.addPanel(commentsPanel(this));
    this.shell.addPanel(versionsPanel(this));
    this.shell.addPanel(historyPanel(this));
    exportButton(this);
    this.wire();
    attachInput(this);
    this.socket.connect();
  }

  // -- public API for panels ------------------------------------------------------------
  get readOnly(): boolean {
    return this.readOnlyReason !== null;
  }

  /** Read-only mode (issue 9's version preview): tools stop writing, the banner says why. */
  setReadOnly(reason: string | null): void {
    this.readOnlyReason = reason;
    this.overlay.readOnly = reason !== null;
    this.shell.root.classList.toggle("read-only", reason !== null);
    if (reason !== null) this.setTool("select");
    this.overlay.render();
  }

  /**
   * Draw `list` instead of the live document (read-only) or go back to live with null.
   * `image`, when given, is the base image to show while previewing (the previewed step's).
   */
  setPreview(list: Annotation[] | null, banner: Node[] | null = null, image?: ImageRef | null): void {
    if (list !== null) this.selection.clear();
    this.scene.showStatic(list);
    this.setReadOnly(list === null ? null : "preview");
    this.shell.setBanner(list === null ? null : banner);
    this.previewImage = list === null ? undefined : image;
    this.showImage(this.canvas.image());
    for (const l of this.previewListeners) l(list !== null);
  }

  /** Called when a preview starts (true) or ends (false). */
  onPreview(l: (on: boolean) => void): () => void {
    this.previewListeners.add(l);
    return () => this.previewListeners.delete(l);
  }

  /** Add a tool with its toolbar button and its `tool.<id>` command (shortcut in the keymap). */
  addTool(tool: Tool, label: string, iconName: string): void {
    this.tools.set(tool.id, tool);
    const b = button(label, { icon: icon(iconName), title: titleFor(`tool.${tool.id}`, label), cls: "tool", pressed: this.tool === tool.id, onClick: () => this.setTool(tool.id) });
    b.dataset.tool = tool.id;
    this.toolButtons.set(tool.id, b);
    this.shell.tools.appendChild(b);
    this.registerCommand(`tool.${tool.id}`, () => this.setTool(tool.id));
  }

  selectedAnnotations(): Annotation[] {
    return this.selection.ids.map((id) => this.canvas.get(id)).filter((a): a is Annotation => a !== null);
  }

  newStyle(): Style {
    return { ...this.style };
  }

  newArrowheads(type: "line" | "arrow"): { startArrowhead: Arrowhead; endArrowhead: Arrowhead } {
    return { ...this.arrowheads[type] };
  }

  onSelectionOrStyle(l: () => void): () => void {
    this.styleListeners.add(l);
    return () => this.styleListeners.delete(l);
  }

  onFollowChange(l: () => void): () => void {
    this.followListeners.add(l);
    return () => this.followListeners.delete(l);
  }

  private styleTimer: ReturnType<typeof setTimeout> | null = null;

  /** Panels showing the selection's style refresh at most every 80 ms (not on every drag step). */
  private styleChanged(): void {
    if (this.styleTimer !== null) return;
    this.styleTimer = setTimeout(() => {
      this.styleTimer = null;
      for (const l of this.styleListeners) l();
    }, 80);
  }

  /** Apply a style change to the selection (one undo step), or to the next shapes drawn. */
  applyStyle(patch: Partial<Style>): void {
    const sel = this.selectedAnnotations().filter((a) => !a.locked);
    if (sel.length && !this.readOnly) {
      this.undo.boundary();
      this.canvas.patchMany(sel.map((a) => [a.id, { style: patch }]));
      this.undo.boundary();
    }
    this.style = { ...this.style, ...patch };
    this.styleChanged();
  }

  applyArrowheads(patch: { startArrowhead?: Arrowhead; endArrowhead?: Arrowhead }): void {
    const sel = this.selectedAnnotations().filter((a) => (a.type === "line" || a.type === "arrow") && !a.locked);
    if (sel.length && !this.readOnly) {
      this.undo.boundary();
      this.canvas.patchMany(sel.map((a) => [a.id, patch]));
      this.undo.boundary();
    } else {
      const t = this.tool === "line" ? "line" : "arrow";
      this.arrowheads[t] = { ...this.arrowheads[t], ...patch };
    }
    this.styleChanged();
  }

  run(command: string): void {
    const fn = this.commands.get(command);
    if (fn === undefined) return;
    try {
      fn();
    } catch (err) {
      reportError(err);
    }
  }

  registerCommand(id: string, fn: () => void): void {
    this.commands.set(id, fn);
  }

  setTool(id: ToolId): void {
    if (this.readOnly && id !== "select" && id !== "hand") return;
    const cur = this.tools.get(this.tool);
    if (this.tool !== id) {
      cur?.cancel?.();
      cur?.deactivate?.();
    }
    this.tool = id;
    const t = this.tools.get(id)!;
    t.activate?.();
    this.shell.stage.style.cursor = t.cursor;
    for (const [tid, b] of this.toolButtons) b.setAttribute("aria-pressed", String(tid === id));
    this.shell.stage.dataset.tool = id;
    this.styleChanged();
  }

  activeTool(): Tool {
    return this.tools.get(this.tool)!;
  }

  /** Follow a person's viewport (null stops). */
  follow(session: string | null): void {
    this.following = session;
    const peer = session ? this.presence.peers.get(session) : undefined;
    if (peer) {
      this.shell.setBanner([
        h("span", { class: "dot", style: `--c:${peer.color}` }),
        document.createTextNode(`Following ${peer.name}`),
        button("Stop following", { cls: "link", onClick: () => this.follow(null) }),
      ]);
      this.shell.banner.style.setProperty("--c", peer.color);
      this.applyFollow();
    } else {
      this.following = null;
      this.shell.setBanner(null);
    }
    for (const l of this.followListeners) l();
  }

  private applyFollow(): void {
    const peer = this.following ? this.presence.peers.get(this.following) : undefined;
    if (this.following && !peer) {
      toast("The person you followed has left.");
      this.follow(null);
      return;
    }
    if (peer?.viewport) {
      this.followingApply = true;
      this.viewport.showRect(peer.viewport);
      this.followingApply = false;
    }
  }

  /** True while the viewport moves because of follow (a user's own pan stops following). */
  followingApply = false;

  async changeIdentity(): Promise<void> {
    const id = await askIdentity(this.identity);
    this.identity = id;
    this.presence.set({ name: id.name, color: id.color });
    for (const l of this.followListeners) l();
  }

  /** Upload a new base image (file picker or drop). */
  async upload(file: File): Promise<void> {
    try {
      await uploadImage(this.roomId, file, this.identity.userId);
      toast(`Image "${file.name}" uploaded.`);
    } catch (err) {
      toast(`Upload failed: ${(err as Error).message}`, "error", 10_000);
    }
  }

  pickImage(): void {
    const input = h("input", { type: "file", accept: this.config.imageTypes.join(",") });
    input.addEventListener("change", () => {
      const f = input.files?.[0];
      if (f) void this.upload(f);
    });
    input.click();
  }

  fit(): void {
    const img = this.canvas.image();
    if (img) this.viewport.showRect({ x: 0, y: 0, w: img.width, h: img.height }, 24);
    else {
      this.viewport.set(1, 0, 0);
    }
  }

  // -- wiring -------------------------------------------------------------------------------
  private toolContext(): ToolContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this; // scene and overlay are created after the context (getters read them late)
    return {
      canvas: this.canvas,
      get scene() { return self.scene; },
      viewport: this.viewport,
      selection: this.selection,
      undo: this.undo,
      get overlay() { return self.overlay; },
      layout: this.layout,
      newStyle: () => this.newStyle(),
      newArrowheads: (t) => this.newArrowheads(t),
      setTool: (id) => this.setTool(id),
      editText: (id, all) => this.editor.start(id, all),
      readOnly: () => this.readOnly,
      tolerance: () => 6 / this.viewport.scale,
      setCursor: (css) => { this.shell.stage.style.cursor = css; },
    };
  }

  private buildToolbar(): void {
    for (const t of TOOL_BUTTONS) {
      const b = button(t.label, { icon: icon(t.id === "select" ? "select" : t.id), title: titleFor(`tool.${t.id}`, t.label), cls: "tool", pressed: t.id === this.tool, onClick: () => this.setTool(t.id) });
      b.dataset.tool = t.id;
      this.toolButtons.set(t.id, b);
      this.shell.tools.appendChild(b);
    }
    this.undoBtn = button("Undo", { icon: icon("undo"), title: titleFor("undo", "Undo your last change"), onClick: () => this.run("undo") });
    this.redoBtn = button("Redo", { icon: icon("redo"), title: titleFor("redo", "Redo"), onClick: () => this.run("redo") });
    const zoomOut = button("Zoom out", { icon: icon("minus"), title: titleFor("zoomOut", "Zoom out"), onClick: () => this.run("zoomOut") });
    this.zoomLabel = button("Zoom to 100 %", { text: "100 %", title: titleFor("zoom100", "Zoom to 100 %"), cls: "zoom-level", onClick: () => this.run("zoom100") });
    const zoomIn = button("Zoom in", { icon: icon("plus"), title: titleFor("zoomIn", "Zoom in"), onClick: () => this.run("zoomIn") });
    const fit = button("Fit the image", { icon: icon("fit"), title: titleFor("zoomFit", "Fit the image"), onClick: () => this.run("zoomFit") });
    const image = button("Replace the image", { icon: icon("image"), title: "Upload or replace the base image", onClick: () => this.pickImage() });
    this.shell.actions.append(this.undoBtn, this.redoBtn, zoomOut, this.zoomLabel, zoomIn, fit, image);
    this.shell.end.append(button("Keyboard shortcuts", { icon: icon("help"), title: titleFor("help", "Keyboard shortcuts"), onClick: () => showHelp() }));
    this.setTool("select");
  }

  private registerCommands(): void {
    const c = (id: string, fn: () => void) => this.registerCommand(id, fn);
    for (const t of TOOL_BUTTONS) c(`tool.${t.id}`, () => this.setTool(t.id));
    const editable = () => (this.readOnly ? [] : this.selectedAnnotations());
    const ids = () => editable().map((a) => a.id);
    c("undo", () => { if (!this.readOnly) this.undo.undo(); });
    c("redo", () => { if (!this.readOnly) this.undo.redo(); });
    c("selectAll", () => this.selection.set(this.canvas.list().map((a) => a.id)));
    c("deselect", () => {
      this.activeTool().cancel?.();
      if (this.following) this.follow(null);
      else this.selection.clear();
    });
    c("delete", () => {
      const list = editable().filter((a) => !a.locked);
      if (!list.length) return;
      this.undo.boundary();
      this.canvas.remove(list.map((a) => a.id));
      this.undo.boundary();
      this.selection.clear();
    });
    c("duplicate", () => {
      const list = ids();
      if (!list.length) return;
      const step = 16 / this.viewport.scale;
      this.undo.boundary();
      const copies = this.canvas.duplicate(list, step, step);
      this.undo.boundary();
      this.selection.set(copies);
    });
    for (const dir of ["forward", "backward", "front", "back"] as const) {
      c(dir, () => {
        const list = ids();
        if (!list.length) return;
        this.undo.boundary();
        this.canvas.reorder(list, dir);
        this.undo.boundary();
      });
    }
    c("group", () => {
      const list = ids();
      if (list.length < 2) return;
      this.undo.boundary();
      if (this.canvas.group(list) === null) toast(`Groups can nest at most 32 deep.`, "error");
      this.undo.boundary();
      this.styleChanged();
    });
    c("ungroup", () => {
      const outer = new Set(editable().map((a) => a.groupIds[a.groupIds.length - 1]).filter((g): g is string => !!g));
      if (!outer.size) return;
      this.undo.boundary();
      this.canvas.transact(() => { for (const g of outer) this.canvas.ungroup(g); });
      this.undo.boundary();
      this.styleChanged();
    });
    c("lock", () => {
      const list = editable();
      if (!list.length) return;
      const lock = !list.every((a) => a.locked);
      this.undo.boundary();
      this.canvas.patchMany(list.map((a) => [a.id, { locked: lock }]));
      this.undo.boundary();
      this.styleChanged();
      this.overlay.render();
    });
    c("editText", () => {
      const sel = editable();
      if (sel.length === 1 && sel[0]!.type === "text" && !sel[0]!.locked) this.editor.start(sel[0]!.id, true);
    });
    c("zoomIn", () => this.byUser(() => this.viewport.zoomCenter(1.25)));
    c("zoomOut", () => this.byUser(() => this.viewport.zoomCenter(0.8)));
    c("zoomFit", () => this.byUser(() => this.fit()));
    c("zoom100", () => this.byUser(() => this.viewport.actualSize()));
    c("help", () => showHelp());
  }

  /** Arrow-key nudge of the selection: 1 image px (10 with shift), one undo step per press. */
  nudge(dx: number, dy: number): void {
    const list = this.selectedAnnotations().filter((a) => !a.locked);
    if (!list.length || this.readOnly) return;
    this.undo.boundary();
    this.canvas.patchMany(list.map((a) => [a.id, { x: a.x + dx, y: a.y + dy }]));
  }

  private wire(): void {
    const stage = this.shell.stage;
    const resize = () => {
      const r = stage.getBoundingClientRect();
      this.viewport.setSize(r.width, r.height);
    };
    new ResizeObserver(resize).observe(stage);
    resize();
    this.viewport.onChange(() => {
      this.overlay.render();
      this.zoomLabel.textContent = `${Math.round(this.viewport.scale * 100)} %`;
      this.presence.set({ viewport: this.viewport.visible() });
      if (!this.followingApply && this.following && this.userMovedViewport) this.follow(null);
    });
    this.selection.on("change", (ids) => {
      this.presence.set({ selection: [...ids] });
      this.overlay.selection = ids;
      this.overlay.render();
      this.styleChanged();
    });
    this.canvas.onChange((ids) => {
      let touched = false;
      for (const id of this.selection.ids) if (ids.has(id)) touched = true;
      for (const p of this.presence.peers.values()) for (const id of p.selection) if (ids.has(id)) touched = true;
      const gone = this.selection.ids.filter((id) => !this.canvas.has(id));
      if (gone.length) this.selection.set(this.selection.ids.filter((id) => this.canvas.has(id)));
      if (touched) {
        this.overlay.render();
        this.styleChanged();
      }
    });
    this.presence.on("change", () => {
      this.overlay.peers = this.presence.peers;
      this.overlay.render();
      if (this.following) this.applyFollow();
    });
    this.undo.onChange(() => {
      this.undoBtn.disabled = !this.undo.canUndo();
      this.redoBtn.disabled = !this.undo.canRedo();
    });
    this.undoBtn.disabled = true;
    this.redoBtn.disabled = true;
    this.canvas.onImage((img) => this.showImage(img));
    const setStatus = () => {
      const s = this.socket.state;
      const pending = this.socket.pendingAcks + (this.socket.unsent ? 1 : 0);
      this.status.textContent = STATUS_TEXT[s] + (s === "connected" ? (pending ? " · saving…" : " · all saved") : "");
      this.status.dataset.state = s;
    };
    this.socket.on("state", setStatus);
    this.socket.on("pending", setStatus);
    this.socket.on("problem", (msg) => toast(msg, "error"));
    this.socket.on("roomInfo", (info) => {
      this.shell.title.textContent = info.name;
      this.shell.title.title = info.name;
      document.title = `${info.name} — annotd`;
    });
    this.socket.on("synced", () => {
      const t0 = performance.now();
      this.scene.renderAll();
      const t1 = performance.now();
      if (this.timings.firstRenderMs === undefined) {
        this.timings.firstRenderMs = t1 - t0;
        this.timings.annotations = this.scene.size;
        // the first frame that shows it: after the next rendering update (style, layout, paint)
        requestAnimationFrame(() => {
          const ch = new MessageChannel();
          ch.port1.onmessage = () => { this.timings.firstFrameMs = performance.now() - t0; };
          ch.port2.postMessage(null);
        });
      }
      this.showImage(this.canvas.image());
      this.presence.set({ viewport: this.viewport.visible() });
      this.shell.root.dataset.synced = "true";
    });
    this.socket.on("closed", ({ code, final }) => {
      if (code === CLOSE.TOO_SLOW) toast("The connection fell behind and the server dropped it; reconnecting — nothing is lost.");
      if (!final) return;
      if (code === CLOSE.NOT_FOUND) this.fatal("This room does not exist.", "It may have been deleted, or the server restarted (rooms live in memory).");
      else if (code === CLOSE.DELETED) this.fatal("This room was deleted.", "Someone deleted it while you were here. Your last edits could not be kept.");
      else this.fatal("The connection was refused.", `The server closed the connection (code ${code}). Reload the page to try again.`, null);
    });
    this.socket.on("notification", ({ method }) => {
      if (method === "versions.reverted") this.undo.clear(); // a revert rewrote the canvas: old steps no longer apply
    });
    setStatus();
    // fonts: the screen must measure text with the same files as the export
    void document.fonts.ready.then(() => {
      this.layout.reset();
      this.scene.renderAll();
    });
  }

  /** True while the user pans/zooms by hand (following someone stops then). */
  userMovedViewport = false;

  /** Run a viewport change the user asked for (it ends following). */
  byUser(fn: () => void): void {
    this.userMovedViewport = true;
    try {
      fn();
    } finally {
      this.userMovedViewport = false;
    }
  }

  private showImage(live: ReturnType<CanvasDoc["image"]>): void {
    const img = this.previewImage !== undefined ? this.previewImage : live;
    if (img) {
      this.scene.setImage(imageUrl(this.roomId, img.sha256), img.width, img.height);
      this.emptyState.hidden = true;
      if (!this.fitted) {
        this.fitted = true;
        this.fit();
      }
    } else {
      this.scene.setImage(null, 0, 0);
      this.emptyState.hidden = false;
      this.emptyState.replaceChildren(
        h("p", {}, "No image yet. Drop a PNG, JPEG or WebP here, or"),
        button("Choose an image", { text: "Choose an image…", cls: "primary", onClick: () => this.pickImage() }),
        h("p", { class: "hint" }, "You can also draw on the blank canvas."),
      );
    }
  }

  private fatal(title: string, detail: string, backInS: number | null = 10): void {
    this.presence.destroy();
    const countdown = h("p", { class: "hint" });
    const box = h("div", { class: "fatal", role: "alert" }, h("h2", {}, title), h("p", {}, detail),
      h("a", { href: "/", class: "primary" }, "Back to the rooms page"), countdown);
    this.shell.root.replaceChildren(box);
    document.title = `${title} — annotd`;
    if (backInS === null) return;
    let left = backInS;
    const tick = () => {
      countdown.textContent = `Going back to the rooms page in ${left} s.`;
      if (left-- <= 0) location.assign("/");
      else setTimeout(tick, 1000);
    };
    tick();
  }
}
