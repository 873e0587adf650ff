/**
 * What the page says about how the server keeps rooms. Every sentence here follows the
 * server's own report (`persistence` in /v1/client-config), so the page never promises that
 * the server keeps something it does not: "saved" is said only of a durable server.
 */
import type { Persistence } from "../app/http";

/** How this server keeps rooms, in one sentence (rooms page, status tooltip). */
export function howRoomsAreKept(p: Persistence): string {
  switch (p) {
    case "memory":
      return "This server keeps rooms in memory only: if it restarts, every room is gone.";
    case "save_on_shutdown":
      return "This server saves rooms to disk only when it shuts down cleanly: if it crashes, what changed since it started is gone.";
    case "durable":
      return "This server writes every change to disk before confirming it: a restart loses nothing it confirmed.";
  }
}

/** The status line's suffix while connected: are this page's edits on the server yet? */
export function syncState(p: Persistence, pending: boolean): string {
  if (p === "durable") return pending ? "saving…" : "all saved";
  return pending ? "sending…" : "all sent";
}

/** Shown while the connection is down: what a restart would do to this room, and where the copy is. */
export function whileApart(p: Persistence): string {
  switch (p) {
    case "memory":
      return "The server keeps rooms in memory only — if it restarts, this room is gone; your copy stays in this page.";
    case "save_on_shutdown":
      return "The server saves rooms only when it shuts down cleanly — if it crashed, this room's changes since it started are gone; your copy stays in this page.";
    case "durable":
      return "Everything the server confirmed is on its disk; what you do now stays in this page and is sent when the connection is back.";
  }
}

/** Why a room the page was in (or asked for) is not on the server. */
export function whyGone(p: Persistence, wasHere: boolean): string {
  const deleted = wasHere ? "someone deleted it while you were disconnected" : "it may have been deleted";
  switch (p) {
    case "memory":
      return `The server keeps rooms in memory only and may have restarted, or ${deleted}.`;
    case "save_on_shutdown":
      return `The server may have stopped without saving it (it saves rooms only when it shuts down cleanly), or ${deleted}.`;
    case "durable":
      return wasHere ? "Someone deleted it while you were disconnected." : "It may have been deleted.";
  }
}

/** What re-creating a lost room brings back, and what it cannot. */
export const RECREATE_KEEPS =
  "This page still has a copy of it: the drawing, the comments and the image. Re-creating the room from it brings it back for everyone; this page also rejoins by itself as soon as anyone re-creates it. Named versions and the history were kept only by the server and do not come back.";

/** How long named versions last (the history panel): never pruned, but only as kept as the server keeps rooms. */
export function versionsLast(p: Persistence): string {
  switch (p) {
    case "memory":
      return "named versions are never pruned, but live in the server's memory: a restart loses them";
    case "save_on_shutdown":
      return "named versions are never pruned, and are saved when the server shuts down cleanly";
    case "durable":
      return "named versions are kept for good";
  }
}
