/**
 * Comments panel: every thread (open first, resolved on demand), who is typing, and the
 * comment tool with its pins and new-comment box. Clicking a thread (or its pin) opens it,
 * centres the view on its pin and outlines what it is pinned to. The tab's badge counts the
 * open threads and says how many messages are new.
 */
import type { Comments } from "../../app/comments";
import type { Annotation, CanvasDoc, NewAnchor, Presence } from "@annotd/client";
import type { Scene } from "../../render/scene";
import type { Viewport } from "../../render/viewport";
import { CommentTool, type CommentToolContext } from "../../tools/comment";
import type { Tool, ToolId } from "../../tools/tool";
import { Composer, type ComposerContext } from "../composer";
import { button, h, keyedChildren } from "../dom";
import { titleFor } from "../keymap";
import { PinLayer, type PinsContext } from "../pins";
import type { Panel, Shell } from "../shell";
import { ThreadCard, type ThreadContext } from "../thread";

/**
 * The Comments panel shows the threads, adds the comment tool, its pins and its box, and
 * places a new comment on the selection or the middle of the view.
 */
interface CommentsPanelContext extends ComposerContext, PinsContext, ThreadContext, CommentToolContext {
  readonly comments: Comments;
  readonly canvas: Pick<CanvasDoc, "get" | "has" | "list" | "onChange">;
  readonly scene: Pick<Scene, "overlay" | "isStatic">;
  readonly presence: Pick<Presence, "peers" | "on">;
  readonly shell: Pick<Shell, "stage" | "show" | "setBadge" | "reveal">;
  readonly viewport: Viewport;
  readonly readOnly: boolean;
  selectedAnnotations(): Annotation[];
  setTool(id: ToolId): void;
  addTool(tool: Tool, label: string, iconName: string): void;
}

const TICK_MS = 30_000;

export function commentsPanel(app: CommentsPanelContext): Panel {
  const comments = app.comments;
  let composer: Composer | null = null;
  const cards = new Map<string, ThreadCard>();

  const open = (threadId: string, focusReply: boolean, pan = true) => {
    comments.setActive(threadId, pan);
    app.shell.reveal("comments");
    const card = cards.get(threadId);
    card?.root.scrollIntoView({ block: "nearest" });
    if (focusReply) card?.replyBox.focus();
  };
  const place = (anchor: NewAnchor) => {
    if (composer !== null && composer.hasText) {
      composer.input.focus();
      return;
    }
    if (composer !== null) composer.moveTo(anchor);
    else {
      composer = new Composer(app, comments, anchor, (id) => {
        composer = null;
        if (id !== null) open(id, false, false);
        else app.shell.stage.focus();
      });
    }
    app.setTool("select");
  };
  /** Without a pointer: on the one selected shape (its centre), else a point mid-view. */
  const placeHere = () => {
    if (app.readOnly) return;
    const sel = app.selectedAnnotations();
    if (sel.length === 1) place({ kind: "annotation", annotationId: sel[0]!.id, offsetX: 0.5, offsetY: 0.5 });
    else {
      const r = app.viewport.visible();
      place({ kind: "point", x: Math.round(r.x + r.w / 2), y: Math.round(r.y + r.h / 2) });
    }
  };
  app.addTool(new CommentTool(app, place), "Comment", "comment");
  app.onPreview((on) => {
    if (on && composer !== null && !composer.hasText) composer.close(null);
  });
  new PinLayer(app, comments, (id) => open(id, true, false)); // the pin is where you clicked: no pan

  return {
    id: "comments",
    title: "Comments",
    order: 30,
    mount(body) {
      const summary = h("p", { class: "panel-heading" });
      const toggle = button("Show resolved comments", { text: "Show resolved", cls: "link", pressed: false, onClick: () => comments.setShowResolved(!comments.showResolved) });
      const typing = h("p", { class: "typing-indicator", role: "status", "aria-live": "polite" });
      const add = button("Add a comment on the selected shape, or in the middle of the view", { text: "+ Add a comment", onClick: () => placeHere() });
      const pick = button("Choose the Comment tool", { text: "Comment tool", title: titleFor("tool.comment", "Comment tool"), onClick: () => app.setTool("comment") });
      const hint = h("p", { class: "hint" }, "With the Comment tool, click a shape to pin a comment on it, click anywhere else for a point, or drag to mark an area. The button pins one on the selected shape (or the middle of the view).");
      const list = h("ol", { class: "threads", "aria-label": "Comment threads" });
      const empty = h("p", { class: "empty" }, "No comments yet.");
      body.append(h("div", { class: "comments-head" }, summary, toggle), typing, h("div", { class: "row" }, add, pick), hint, list, empty);

      const refresh = () => {
        const open = comments.threads.filter((t) => t.status === "open");
        const resolved = comments.threads.filter((t) => t.status === "resolved");
        summary.textContent = `${open.length} open · ${resolved.length} resolved`;
        toggle.textContent = comments.showResolved ? "Hide resolved" : `Show resolved (${resolved.length})`;
        toggle.setAttribute("aria-pressed", String(comments.showResolved));
        toggle.setAttribute("aria-label", comments.showResolved ? "Hide resolved comments" : "Show resolved comments");
        toggle.hidden = resolved.length === 0 && !comments.showResolved;
        const wanted = comments.showResolved ? [...open, ...resolved] : open;
        keyedChildren(list, cards, wanted, (t) => t.id, (t) => new ThreadCard(app, comments, t), (card, t) => card.update(t), (card) => card.root);
        empty.hidden = wanted.length > 0;
        empty.textContent = comments.threads.length ? "No open comments." : "No comments yet.";
        const unread = comments.unreadTotal;
        const n = open.length;
        app.shell.setBadge("comments", n || unread ? String(n) : null, unread > 0, ` open${unread ? ` · ${unread} new` : ""}`);
      };
      const refreshTyping = () => {
        const names = comments.typingNames();
        const text = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are typing…`;
        if (typing.textContent !== text) typing.textContent = text;
      };
      comments.on("threads", refresh);
      // presence changes with every cursor move: redraw the cards only when a name changed
      let peerNames = "";
      app.presence.on("change", () => {
        refreshTyping();
        const now = [...app.presence.peers.values()].map((p) => `${p.userId}\u0000${p.name}`).sort().join("\u0001");
        if (now !== peerNames) {
          peerNames = now;
          refresh();
        }
      });
      setInterval(() => { for (const c of cards.values()) c.tick(); }, TICK_MS);
      refresh();
      refreshTyping();
    },
    shown() {
      comments.markActiveSeen();
    },
  };
}
