/**
 * What the page says about its connection: the status line in the top bar (connected and
 * whether this page's edits are on the server yet, reconnecting, offline), a bar above the
 * canvas while the connection is down (what a restart would do to the room, by how the server
 * keeps rooms) or while the room is lost (with "Re-create the room from your copy"),
 * problems as toasts, and — when the server closes for good (a
 * deleted room, an unknown one, a refused connection) — a page that explains it in place of
 * the canvas. Nothing here says "saved" unless the server keeps rooms on disk, and nobody who
 * made no edits is told anything about their edits.
 */
import type { RoomCopy } from "../app/copy";
import type { ClientConfig } from "../app/http";
import { CLOSE, type Presence, type RoomSocket } from "@annotd/client";
import { button, h } from "./dom";
import { howRoomsAreKept, RECREATE_KEEPS, syncState, whileApart, whyGone } from "./persistence";
import type { Shell } from "./shell";
import { toast } from "./toast";

/**
 * The connection's words read the socket's state and this page's copy, and write into the
 * shell's status line, notice bar and, on a final close, its whole root.
 */
interface ConnectionContext {
  readonly socket: Pick<RoomSocket, "state" | "pendingAcks" | "unsent" | "info" | "on">;
  readonly copy: RoomCopy;
  readonly shell: Pick<Shell, "status" | "notice" | "root">;
  readonly presence: Pick<Presence, "destroy">;
  readonly config: Pick<ClientConfig, "persistence">;
}

export function showConnection(app: ConnectionContext): void {
  const { socket, shell, copy } = app;
  const persistence = app.config.persistence;
  shell.status.title = howRoomsAreKept(persistence);
  const setStatus = () => {
    const s = socket.state;
    const yours = copy.edited ? " your edits stay in this page" : "";
    let text: string;
    if (copy.gone) text = "✕ Room not on the server";
    else if (s === "connected") text = `● Connected · ${syncState(persistence, socket.pendingAcks + (socket.unsent ? 1 : 0) > 0)}`;
    else if (s === "reconnecting") text = `◌ Reconnecting…${yours}`;
    else if (s === "offline") text = `○ Offline${copy.edited ? " —" : ""}${yours}`;
    else if (s === "connecting") text = "◌ Connecting…";
    else text = "✕ Disconnected";
    shell.status.textContent = text;
    shell.status.dataset.state = copy.gone ? "gone" : s;
    // before the first join there is no copy yet to speak of
    showNotice(app, (s === "reconnecting" || s === "offline") && socket.info !== null);
  };
  socket.on("state", setStatus);
  socket.on("pending", setStatus);
  copy.on("edited", setStatus);
  copy.on("gone", (gone) => {
    setStatus();
    if (!gone) toast("The room is back on the server, and this page's copy was merged into it.");
  });
  socket.on("problem", (msg) => toast(msg, "error"));
  copy.on("problem", (msg) => toast(msg, "error"));
  socket.on("closed", ({ code, final, meaning }) => {
    if (code === CLOSE.TOO_SLOW) toast("The connection fell behind and the server dropped it; reconnecting — nothing is lost.");
    if (!final || copy.gone) return; // a lost room keeps its page: the bar offers to re-create it
    if (code === CLOSE.ROOM_NOT_FOUND) fatal(app, "This room does not exist.", whyGone(persistence, false));
    else if (code === CLOSE.ROOM_DELETED) fatal(app, "This room was deleted.", "Someone deleted it while you were here, with everything in it.");
    else if (code === CLOSE.DOCUMENT_TOO_LARGE) fatal(app, "The room has reached its size limit.", "The server refused your last edits: they would take this room's document past its size limit. Reload the page to see the room as the server has it.", null);
    else fatal(app, "The connection was refused.", `The server closed the connection (code ${code}${meaning ? `: ${meaning}` : ""}). Reload the page to try again.`, null);
  });
  setStatus();
}

/** The bar above the canvas: the lost room's offer, the truth while apart, or nothing. */
function showNotice(app: ConnectionContext, apart: boolean): void {
  const { notice } = app.shell;
  const kind = app.copy.gone ? "gone" : apart ? "apart" : null;
  if (notice.dataset.kind === (kind ?? "")) return; // keep a shown offer (and its messages) as it is
  notice.dataset.kind = kind ?? "";
  notice.hidden = kind === null;
  notice.setAttribute("role", kind === "gone" ? "alert" : "status");
  if (kind === null) notice.replaceChildren();
  else if (kind === "apart") notice.replaceChildren(h("p", {}, whileApart(app.config.persistence)));
  else notice.replaceChildren(...lostRoomOffer(app));
}

function lostRoomOffer(app: ConnectionContext): Node[] {
  const result = h("p", { class: "recreate-result", "aria-live": "polite" });
  const recreate = button("Re-create the room from your copy", {
    cls: "primary",
    onClick: () => {
      recreate.disabled = true;
      result.classList.remove("error");
      result.textContent = "Re-creating the room…";
      app.copy.recreate().then(
        () => {
          result.textContent = "Re-created: joining it…";
        },
        (err: unknown) => {
          recreate.disabled = false;
          result.classList.add("error");
          result.textContent = `The room could not be re-created: ${err instanceof Error ? err.message : String(err)}`;
        },
      );
    },
  });
  const image = app.copy.imageMissing
    ? h("p", {}, "The image was not kept in this page: after re-creating, upload it again.")
    : null;
  return [
    h("h2", {}, "This room is no longer on the server."),
    h("p", {}, whyGone(app.config.persistence, true)),
    h("p", {}, RECREATE_KEEPS),
    ...(image ? [image] : []),
    h("div", { class: "row" }, recreate),
    result,
  ];
}

/** Replace the page with an explanation; after `backInS` seconds (unless null) go to the rooms page. */
function fatal(app: ConnectionContext, title: string, detail: string, backInS: number | null = 10): void {
  app.presence.destroy();
  const countdown = h("p", { class: "hint" });
  const box = h("div", { class: "fatal", role: "alert" }, h("h2", {}, title), h("p", {}, detail),
    h("a", { href: "/", class: "primary" }, "Back to the rooms page"), countdown);
  app.shell.root.replaceChildren(box);
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
