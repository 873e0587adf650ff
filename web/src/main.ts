/**
 * Entry point. The server's HTML says which page this is (`data-page` on <body>: "rooms" or
 * "room", with `data-room-id`). Unexpected errors are caught here and shown in words in
 * the page; none reaches the console.
 */
import { RoomApp } from "./app/room";
import { loadConfig } from "./app/http";
import { reportError, setErrorSink } from "@annotd/client";
import { askIdentity, loadIdentity } from "./ui/dialog";
import { roomBackdrop } from "./ui/backdrop";
import { h } from "./ui/dom";
import { RoomsPage } from "./ui/rooms";
import { toast } from "./ui/toast";

declare global {
  interface Window {
    /** The running page, for tests, benchmarks and the curious (devtools). */
    annotd?: { app?: RoomApp; rooms?: RoomsPage };
  }
}

setErrorSink((err) => toast(`Something went wrong: ${err instanceof Error ? err.message : String(err)}`, "error"));
window.addEventListener("error", (e) => {
  e.preventDefault();
  reportError(e.error ?? e.message);
});
window.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  reportError(e.reason);
});

async function main(): Promise<void> {
  const body = document.body;
  const page = body.dataset.page;
  if (page !== "room" && page !== "rooms") return; // a static page (e.g. "this room does not exist")
  let config;
  try {
    config = await loadConfig();
  } catch (err) {
    body.append(h("div", { class: "fatal", role: "alert" }, h("h2", {}, "Cannot start"), h("p", {}, (err as Error).message)));
    return;
  }
  window.annotd = {};
  const known = loadIdentity();
  // A first visit asks who you are over the page itself (the rooms list, or the room's name
  // and image), never over a blank page.
  if (page === "room" && body.dataset.roomId) {
    let identity = known;
    if (identity === null) {
      const backdrop = roomBackdrop(body, body.dataset.roomId);
      identity = await askIdentity();
      backdrop.remove();
    }
    window.annotd.app = new RoomApp(body, body.dataset.roomId, config, identity);
  } else {
    const rooms = new RoomsPage(body, config, known);
    window.annotd.rooms = rooms;
    if (known === null) rooms.setIdentity(await askIdentity());
  }
}

main().catch(reportError);
