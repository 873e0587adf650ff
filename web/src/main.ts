/**
 * Entry point. The server's HTML says which page this is (`data-page` on <body>: "rooms" or
 * "room", with `data-room-id`). Unexpected errors are caught here and shown in words in
 * the page; none reaches the console.
 */
import { RoomApp } from "./app/room";
import { loadConfig } from "./app/http";
import { reportError, setErrorSink } from "@annotd/client";
import { askIdentity, loadIdentity } from "./ui/dialog";
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
  const identity = loadIdentity() ?? (await askIdentity());
  window.annotd = {};
  if (page === "room" && body.dataset.roomId) {
    window.annotd.app = new RoomApp(body, body.dataset.roomId, config, identity);
  } else {
    window.annotd.rooms = new RoomsPage(body, config, identity);
  }
}

main().catch(reportError);
