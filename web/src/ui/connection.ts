/**
 * What the page says about its connection: the status line in the top bar (connected and
 * whether every edit is saved, reconnecting, offline), the room's name from the server,
 * problems as toasts, and — when the server closes for good (unknown or deleted room, a
 * refused connection) — a page that explains it in place of the canvas.
 */
import type { RoomApp } from "../app/room";
import { CLOSE, type ConnState } from "@annotd/client";
import { h } from "./dom";
import { toast } from "./toast";

const STATUS_TEXT: Record<ConnState, string> = {
  connecting: "◌ Connecting…",
  connected: "● Connected",
  reconnecting: "◌ Reconnecting… your edits are kept",
  offline: "○ Offline — your edits are kept and sent when back",
  closed: "✕ Disconnected",
};

export function showConnection(app: RoomApp): void {
  const { socket, shell } = app;
  const setStatus = () => {
    const s = socket.state;
    const pending = socket.pendingAcks + (socket.unsent ? 1 : 0);
    shell.status.textContent = STATUS_TEXT[s] + (s === "connected" ? (pending ? " · saving…" : " · all saved") : "");
    shell.status.dataset.state = s;
  };
  socket.on("state", setStatus);
  socket.on("pending", setStatus);
  socket.on("problem", (msg) => toast(msg, "error"));
  socket.on("roomInfo", (info) => {
    shell.title.textContent = info.name;
    shell.title.title = info.name;
    document.title = `${info.name} — annotd`;
  });
  socket.on("closed", ({ code, final, meaning }) => {
    if (code === CLOSE.TOO_SLOW) toast("The connection fell behind and the server dropped it; reconnecting — nothing is lost.");
    if (!final) return;
    if (code === CLOSE.ROOM_NOT_FOUND) fatal(app, "This room does not exist.", "It may have been deleted, or the server restarted (rooms live in memory).");
    else if (code === CLOSE.ROOM_DELETED) fatal(app, "This room was deleted.", "Someone deleted it while you were here. Your last edits could not be kept.");
    else if (code === CLOSE.DOCUMENT_TOO_LARGE) fatal(app, "The room has reached its size limit.", "The server refused your last edits: they would take this room's document past its size limit. Reload the page to see the room as the server has it.", null);
    else fatal(app, "The connection was refused.", `The server closed the connection (code ${code}${meaning ? `: ${meaning}` : ""}). Reload the page to try again.`, null);
  });
  setStatus();
}

/** Replace the page with an explanation; after `backInS` seconds (unless null) go to the rooms page. */
function fatal(app: RoomApp, title: string, detail: string, backInS: number | null = 10): void {
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
