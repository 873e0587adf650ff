/**
 * RoomApp: one room's page, composed from the modules — the Yjs doc and its connection
 * (@annotd/client), the undo stack (model/), the SVG scene and overlay (render/), tools, and
 * the shell with its panels (ui/). It builds every module and hands each one itself, seen
 * through the small context interface that module declares (next to each panel and app
 * module; toolContext() for tools; see web/DESIGN.md "Module map"), so no module imports
 * this one. The parts with a concept of their own live beside it and are reached through
 * these members: the tools (toolbox.ts, tool-context.ts), the style of new shapes
 * (style.ts), following (follow.ts), the base image (image.ts), the built-in commands
 * (commands.ts), the top bar (ui/topbar.ts), the connection's status and fatal closes
 * (ui/connection.ts) and the room's title and rename (ui/room-title.ts).
 */
import * as Y from "yjs";
import {
  CanvasDoc,
  Presence,
  reportError,
  RoomSocket,
  type Annotation,
  type Arrowhead,
  type ImageRef,
  type Style,
} from "@annotd/client";
import { Undo } from "../model/undo";
import { Overlay } from "../render/overlay";
import { Scene } from "../render/scene";
import { setFontFamilies, TextLayout } from "../render/text";
import { Viewport } from "../render/viewport";
import { TextEditor } from "../tools/text";
import type { Tool, ToolId } from "../tools/tool";
import { showConnection } from "../ui/connection";
import { askIdentity, type Identity } from "../ui/dialog";
import { h } from "../ui/dom";
import { exportButton } from "../ui/export-dialog";
import { commentsPanel } from "../ui/panels/comments";
import { historyPanel } from "../ui/panels/history";
import { peoplePanel } from "../ui/panels/people";
import { stylePanel } from "../ui/panels/style";
import { versionsPanel } from "../ui/panels/versions";
import { showRoomTitle } from "../ui/room-title";
import { Shell } from "../ui/shell";
import { toast } from "../ui/toast";
import { topBarButtons } from "../ui/topbar";
import { attachClipboard } from "./clipboard";
import { nudge, registerCommands } from "./commands";
import { Comments } from "./comments";
import { RoomCopy } from "./copy";
import { Following } from "./follow";
import { HistoryRange } from "./history";
import { wsBase, type ClientConfig } from "./http";
import { BaseImage } from "./image";
import { attachInput } from "./input";
import { Preview } from "./preview";
import { Selection } from "./selection";
import { Styling } from "./style";
import { toolContext } from "./tool-context";
import { builtinTools, Toolbox } from "./toolbox";
import { Versions } from "./versions";

/** The tools that never write, so they stay available while the canvas is read-only. */
const READ_ONLY_ALLOWED: readonly ToolId[] = ["select", "hand"];
/** What a drawing tool says while the canvas is read-only (a preview). */
const READ_ONLY_TOOLS = "drawing is off while an earlier state is shown. Press “Back to live” (Esc) to draw.";

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
  /** Comment threads, read-only previews, named versions, the retained seq range. */
  readonly comments: Comments;
  readonly preview: Preview;
  readonly versions: Versions;
  readonly history: HistoryRange;
  /** This page's copy of the room: what it can bring back if the server loses the room. */
  readonly copy: RoomCopy;
  /** Measured on this page (benchmarks read them): the first full render after the first sync. */
  readonly timings: { firstRenderMs?: number; firstFrameMs?: number; annotations?: number } = {};
  private readonly toolbox: Toolbox;
  private readonly styling = new Styling(this);
  private readonly follower = new Following(this);
  private readonly baseImage: BaseImage;
  private readOnlyReason: string | null = null;
  private previewListeners = new Set<(on: boolean) => void>();

  constructor(
    parent: HTMLElement,
    readonly roomId: string,
    readonly config: ClientConfig,
    public identity: Identity,
  ) {
    this.layout.metrics = config.fonts;
    setFontFamilies(config.fontFamilies);
    this.canvas = new CanvasDoc(this.doc, identity.userId);
    this.socket = new RoomSocket({ url: wsBase(config), roomId, userId: identity.userId, doc: this.doc });
    this.presence = new Presence(this.socket, identity.name, identity.color);
    // before showConnection (in wire): on a 4404 the copy must have decided `gone` first
    this.copy = new RoomCopy({ roomId, socket: this.socket, canvas: this.canvas, userId: () => this.identity.userId });
    this.undo = new Undo(this.canvas, () => [...this.selection.ids], (ids) => this.selection.set(ids));
    this.shell = new Shell(parent, roomId);
    this.scene = new Scene(this.shell.stage, this.canvas, this.viewport, this.layout);
    this.overlay = new Overlay(this.scene.overlay, this.canvas, this.viewport);
    const ctx = toolContext(this);
    this.editor = new TextEditor(this.shell.stage, ctx, {
      onTyping: (typing) => this.presence.set({ typing }),
      onDone: () => this.shell.stage.focus(),
    });
    this.shell.stage.appendChild(h("div", { class: "text-draft-box" }));
    this.toolbox = new Toolbox(this.shell.tools, this.shell.stage, (id) => this.setTool(id));
    for (const { tool, label } of builtinTools(ctx)) this.addTool(tool, label, tool.id);
    this.baseImage = new BaseImage(this);
    topBarButtons(this);
    this.setTool("select");
    registerCommands(this, this.styling);
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
    attachClipboard(this);
    this.socket.connect();
  }

  // -- public API for panels ------------------------------------------------------------
  get readOnly(): boolean {
    return this.readOnlyReason !== null;
  }

  /**
   * Read-only mode (a version or step preview): tools stop writing, the banner says why, and
   * the drawing tools show as unavailable with the way back in their tooltip (a click or
   * shortcut on one says it too) rather than silently doing something else.
   */
  setReadOnly(reason: string | null): void {
    this.readOnlyReason = reason;
    this.overlay.readOnly = reason !== null;
    this.shell.root.classList.toggle("read-only", reason !== null);
    this.toolbox.lock(reason === null ? null : READ_ONLY_TOOLS, READ_ONLY_ALLOWED);
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
    this.baseImage.preview(list === null ? undefined : image);
    for (const l of this.previewListeners) l(list !== null);
  }

  /** Called when a preview starts (true) or ends (false). */
  onPreview(l: (on: boolean) => void): () => void {
    this.previewListeners.add(l);
    return () => this.previewListeners.delete(l);
  }

  /** Add a tool with its toolbar button and its `tool.<id>` command (shortcut in the keymap). */
  addTool(tool: Tool, label: string, iconName: string): void {
    this.toolbox.add(tool, label, iconName);
    this.registerCommand(`tool.${tool.id}`, () => this.setTool(tool.id));
  }

  /** The active tool's id. */
  get tool(): ToolId {
    return this.toolbox.current;
  }

  /** Switch tools; while read-only only select and hand are allowed. */
  setTool(id: ToolId): void {
    if (this.readOnly && !READ_ONLY_ALLOWED.includes(id)) {
      toast(READ_ONLY_TOOLS.charAt(0).toUpperCase() + READ_ONLY_TOOLS.slice(1));
      return;
    }
    this.toolbox.switchTo(id);
    this.styling.changed();
  }

  activeTool(): Tool {
    return this.toolbox.active();
  }

  selectedAnnotations(): Annotation[] {
    return this.selection.ids.map((id) => this.canvas.get(id)).filter((a): a is Annotation => a !== null);
  }

  newStyle(): Style {
    return this.styling.newStyle();
  }

  newArrowheads(type: "line" | "arrow"): { startArrowhead: Arrowhead; endArrowhead: Arrowhead } {
    return this.styling.newArrowheads(type);
  }

  /** Panels showing the selection's style hear of changes throttled (style.ts), not on every drag step. */
  onSelectionOrStyle(l: () => void): () => void {
    return this.styling.onChange(l);
  }

  /** Apply a style change to the selection (one undo step), and to the next shapes drawn. */
  applyStyle(patch: Partial<Style>): void {
    this.styling.apply(patch);
  }

  applyArrowheads(patch: { startArrowhead?: Arrowhead; endArrowhead?: Arrowhead }): void {
    this.styling.applyArrowheads(patch);
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

  /** Arrow-key nudge of the selection: 1 image px (10 with shift), one undo step per press. */
  nudge(dx: number, dy: number): void {
    nudge(this, dx, dy);
  }

  /** The presence session whose view we follow, or null. */
  get following(): string | null {
    return this.follower.session;
  }

  /** Follow a person's viewport (null stops). */
  follow(session: string | null): void {
    this.follower.set(session);
  }

  /** Called when following starts or stops, and when our own name or colour changes. */
  onFollowChange(l: () => void): () => void {
    return this.follower.onChange(l);
  }

  /** Run a viewport change the user asked for (it ends following). */
  byUser(fn: () => void): void {
    this.follower.byUser(fn);
  }

  async changeIdentity(): Promise<void> {
    const id = await askIdentity(this.identity);
    this.identity = id;
    this.presence.set({ name: id.name, color: id.color });
    this.follower.changed();
  }

  /** Upload a new base image (file picker or drop). */
  upload(file: File): Promise<void> {
    return this.baseImage.upload(file);
  }

  pickImage(): void {
    this.baseImage.pick();
  }

  fit(): void {
    this.baseImage.fit();
  }

  // -- wiring -------------------------------------------------------------------------------
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
      this.presence.set({ viewport: this.viewport.visible() });
      this.follower.viewportChanged();
    });
    this.selection.on("change", (ids) => {
      this.presence.set({ selection: [...ids] });
      this.overlay.selection = ids;
      this.overlay.render();
      this.styling.changed();
    });
    this.canvas.onChange((ids) => {
      let touched = false;
      for (const id of this.selection.ids) if (ids.has(id)) touched = true;
      for (const p of this.presence.peers.values()) for (const id of p.selection) if (ids.has(id)) touched = true;
      const gone = this.selection.ids.filter((id) => !this.canvas.has(id));
      if (gone.length) this.selection.set(this.selection.ids.filter((id) => this.canvas.has(id)));
      if (touched) {
        this.overlay.render();
        this.styling.changed();
      }
    });
    this.presence.on("change", () => {
      this.overlay.peers = this.presence.peers;
      this.overlay.render();
      this.follower.peersChanged();
    });
    showConnection(this);
    showRoomTitle(this);
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
      this.baseImage.show();
      this.presence.set({ viewport: this.viewport.visible() });
      this.shell.root.dataset.synced = "true";
    });
    this.socket.on("notification", ({ method }) => {
      if (method === "versions.reverted") this.undo.clear(); // a revert rewrote the canvas: old steps no longer apply
    });
    // fonts: the screen must measure text with the same files as the export
    void document.fonts.ready.then(() => {
      this.layout.reset();
      this.scene.renderAll();
    });
  }
}
