/**
 * One thread in the Comments panel. Collapsed it shows its number, author, time, where it
 * is pinned, the first message and a reply box (focusing it opens the thread); open (the
 * active thread) it shows every message with its author and relative time, edit and delete
 * on one's own messages. A long message is cut to a few lines with "Show more"; web
 * addresses in messages are links (`linkify.ts`).
 *
 * Updates are keyed: the card, its messages and the boxes being typed in are kept across
 * live updates (a reply arriving while you type must not take your text or your focus).
 * Everything people wrote is set as text, never as markup.
 */
import type { Comments } from "../app/comments";
import { inWords } from "../app/errors";
import { MAX_BODY_LENGTH, type Message, type Thread } from "@annotd/client";
import { confirmDialog, type Identity } from "./dialog";
import { button, h, keyedChildren, tickTimes, timeEl } from "./dom";
import { linkified } from "./linkify";
import { anchorWords, type AnchorContext } from "./pins";

/** Messages longer than this (characters or lines) are shown cut, with "Show more". */
const LONG_CHARS = 320;
const LONG_LINES = 6;

/** A thread card says where the thread is pinned and which messages are ours to edit. */
export interface ThreadContext extends AnchorContext {
  readonly identity: Pick<Identity, "userId">;
}

/** Enter sends, Shift+Enter is a new line, Escape calls `cancel`. */
function sendKeys(box: HTMLTextAreaElement, send: () => void, cancel: () => void): void {
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === "Escape") {
      e.preventDefault();
      cancel();
    }
  });
}

export class ThreadCard {
  readonly root: HTMLLIElement;
  private head: HTMLButtonElement;
  private status: HTMLButtonElement;
  private info: HTMLElement;
  private list: HTMLOListElement;
  private more: HTMLElement;
  private error: HTMLElement;
  private replyForm: HTMLFormElement;
  readonly replyBox: HTMLTextAreaElement;
  private items = new Map<string, HTMLLIElement>();
  private editing: { id: string; box: HTMLTextAreaElement } | null = null;
  private thread: Thread;
  /** Long messages the person expanded (kept across live updates). */
  private expanded = new Set<string>();

  constructor(
    private app: ThreadContext,
    private comments: Comments,
    thread: Thread,
  ) {
    this.thread = thread;
    this.head = h("button", { type: "button", class: "thread-open" });
    this.head.addEventListener("click", () => comments.setActive(comments.active === this.thread.id ? null : this.thread.id, true));
    this.status = button("Resolve", { cls: "thread-status", onClick: () => void this.toggleStatus() });
    this.info = h("p", { class: "thread-info" });
    this.list = h("ol", { class: "messages" });
    this.more = h("p", { class: "more hint" });
    this.error = h("p", { class: "error", role: "alert" });
    this.replyBox = h("textarea", { class: "reply-box", rows: 2, maxlength: MAX_BODY_LENGTH, placeholder: "Reply… (Enter sends)" });
    const send = button("Send the reply", { text: "Reply", cls: "primary" });
    send.type = "submit";
    this.replyForm = h("form", { class: "reply" }, this.replyBox, h("div", { class: "row end" }, send));
    this.replyForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.sendReply();
    });
    sendKeys(this.replyBox, () => void this.sendReply(), () => this.replyBox.blur());
    this.replyBox.addEventListener("input", () => comments.typing(this.replyBox.value.length > 0));
    this.replyBox.addEventListener("blur", () => comments.typing(false));
    // The box is there without opening the thread; starting to reply opens it (and shows
    // where it is pinned), like clicking its header.
    this.replyBox.addEventListener("focus", () => {
      if (comments.active !== this.thread.id) comments.setActive(this.thread.id, true);
    });
    this.root = h("li", { class: "thread", "data-thread-id": thread.id },
      h("div", { class: "thread-top" }, this.head, this.status), this.info, this.list, this.more, this.error, this.replyForm);
    this.update(thread);
  }

  get id(): string {
    return this.thread.id;
  }

  update(t: Thread): void {
    this.thread = t;
    const c = this.comments;
    const active = c.active === t.id;
    const n = c.numberOf(t.id);
    const unread = c.unread(t.id);
    const who = c.nameOf(t.createdBy);
    const resolved = t.status === "resolved";
    this.root.dataset.status = t.status;
    this.root.classList.toggle("active", active);
    this.root.classList.toggle("unread", unread > 0);
    this.root.classList.toggle("detached", c.detached(t));
    this.head.setAttribute("aria-expanded", String(active));
    this.head.setAttribute("aria-label", `Comment ${n ?? ""} by ${who}${unread ? `, ${unread} new` : ""}${resolved ? ", resolved" : ""}: ${active ? "close" : "open and show on the canvas"}`);
    this.head.replaceChildren(
      h("span", { class: "num" }, n === null ? "•" : String(n)),
      h("span", { class: "who" }, who),
      timeEl(t.createdAt),
    );
    if (unread) this.head.append(h("span", { class: "new" }, `${unread} new`));
    this.status.textContent = resolved ? "Reopen" : "Resolve";
    this.status.setAttribute("aria-label", `${resolved ? "Reopen" : "Resolve"} comment ${n ?? ""} by ${who}`);
    const where = anchorWords(this.app, c, t);
    const state = resolved ? ` · ✓ Resolved${t.resolvedBy ? ` by ${c.nameOf(t.resolvedBy)}` : ""}` : "";
    this.info.textContent = `${where.charAt(0).toUpperCase()}${where.slice(1)}${state}`;
    const shown = active ? t.messages : t.messages.slice(0, 1);
    this.renderMessages(shown);
    const hiddenCount = t.messages.length - shown.length;
    this.more.hidden = hiddenCount === 0;
    this.more.textContent = hiddenCount === 1 ? "1 more reply" : `${hiddenCount} more replies`;
    this.replyForm.hidden = resolved && !active;
    this.replyBox.setAttribute("aria-label", `Reply to comment ${n ?? ""} by ${who}`);
  }

  private renderMessages(messages: Message[]): void {
    keyedChildren(this.list, this.items, messages, (m) => m.id, (m) => h("li", { class: "message", "data-message-id": m.id }),
      (li, m) => { if (this.editing?.id !== m.id) this.paintMessage(li, m); }, (li) => li);
  }

  private paintMessage(li: HTMLLIElement, m: Message): void {
    const mine = m.author === this.app.identity.userId;
    const active = this.comments.active === this.thread.id;
    li.dataset.author = m.author;
    li.classList.toggle("deleted", m.deleted);
    const head = h("div", { class: "msg-head" },
      h("span", { class: "author" }, `${this.comments.nameOf(m.author)}${mine ? " (you)" : ""}`), " ", timeEl(m.createdAt),
      m.editedAt !== null && !m.deleted ? h("span", { class: "edited", title: new Date(m.editedAt).toLocaleString() }, " (edited)") : null);
    const body = m.deleted ? h("p", { class: "body deleted" }, "This message was deleted.") : h("p", { class: "body" }, ...linkified(m.body));
    const long = !m.deleted && (m.body.length > LONG_CHARS || m.body.split("\n").length > LONG_LINES);
    let more: HTMLButtonElement | null = null;
    if (long) {
      const open = this.expanded.has(m.id);
      body.classList.toggle("clamped", !open);
      more = button(open ? "Show less of this message" : "Show all of this message", {
        text: open ? "Show less" : "Show more", cls: "link body-more",
        onClick: () => {
          if (this.expanded.has(m.id)) this.expanded.delete(m.id);
          else this.expanded.add(m.id);
          this.paintMessage(li, m);
        },
      });
      more.setAttribute("aria-expanded", String(open));
    }
    const actions = mine && !m.deleted && active
      ? h("div", { class: "msg-actions" },
        button("Edit your message", { text: "Edit", cls: "link", onClick: () => this.startEdit(m) }),
        button("Delete your message", { text: "Delete", cls: "link danger", onClick: () => void this.deleteMessage(m) }))
      : null;
    li.replaceChildren(head, body, more ?? "", actions ?? "");
  }

  private startEdit(m: Message): void {
    const li = this.items.get(m.id);
    if (!li) return;
    const box = h("textarea", { class: "edit-box", rows: 3, maxlength: MAX_BODY_LENGTH, "aria-label": "Edit your message" });
    box.value = m.body;
    this.editing = { id: m.id, box };
    const save = button("Save your edit", { text: "Save", cls: "primary", onClick: () => void this.saveEdit(m.id) });
    const cancel = button("Cancel editing", { text: "Cancel", onClick: () => this.stopEdit() });
    sendKeys(box, () => void this.saveEdit(m.id), () => this.stopEdit());
    li.replaceChildren(h("div", { class: "msg-head" }, h("span", { class: "author" }, "Editing your message")), box, h("div", { class: "row end" }, cancel, save));
    box.focus();
  }

  private stopEdit(): void {
    this.editing = null;
    this.update(this.thread);
  }

  private async run(what: string, fn: () => Promise<void>): Promise<boolean> {
    this.error.textContent = "";
    this.root.setAttribute("aria-busy", "true");
    try {
      await fn();
      return true;
    } catch (err) {
      this.error.textContent = `${what}: ${inWords(err, { body: "Message" })}`;
      return false;
    } finally {
      this.root.removeAttribute("aria-busy");
    }
  }

  private async saveEdit(messageId: string): Promise<void> {
    const box = this.editing?.box;
    if (!box) return;
    if (!box.value.trim()) {
      this.error.textContent = "A message cannot be empty: delete it instead.";
      return;
    }
    if (await this.run("Your edit was not saved", () => this.comments.edit(this.thread.id, messageId, box.value))) this.stopEdit();
  }

  private async deleteMessage(m: Message): Promise<void> {
    const ok = await confirmDialog("Delete this message?", "It is replaced by “This message was deleted.” for everyone; replies keep their place.");
    if (ok) await this.run("The message was not deleted", () => this.comments.remove(this.thread.id, m.id));
  }

  private async sendReply(): Promise<void> {
    const body = this.replyBox.value;
    if (!body.trim()) return;
    this.comments.typing(false);
    if (await this.run("Your reply was not sent (it is kept in the box)", () => this.comments.reply(this.thread.id, body))) {
      this.replyBox.value = "";
    }
  }

  private async toggleStatus(): Promise<void> {
    const resolve = this.thread.status !== "resolved";
    await this.run(resolve ? "Could not resolve" : "Could not reopen", () => this.comments.setStatus(this.thread.id, resolve));
  }

  /** Refresh the relative times ("3 minutes ago"). */
  tick(): void {
    tickTimes(this.root);
  }
}
