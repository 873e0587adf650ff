/**
 * What a first visit to a room page shows behind the "Who are you?" dialog: the room's name
 * (or "Untitled room") and its image, dimmed, so the person sees where the link led before
 * saying who they are, instead of a blank grey page. Best effort: if the room cannot be read
 * (unknown, offline) the words stay general and the room page says why once it starts.
 */
import { api, imageUrl, type RoomSummary } from "../app/http";
import { h } from "./dom";
import { roomTitleNodes } from "./room-name";

export function roomBackdrop(parent: HTMLElement, roomId: string): HTMLElement {
  const title = h("h1", {}, "Joining a room");
  const picture = h("div", { class: "backdrop-image" });
  const root = h("div", { class: "backdrop", "aria-hidden": "true" }, title, picture,
    h("p", {}, "Say who you are, and you are in: everyone here sees your name next to your cursor and your comments."));
  parent.appendChild(root);
  void api<RoomSummary>(`/v1/rooms/${encodeURIComponent(roomId)}`).then((r) => {
    title.replaceChildren("Joining “", ...roomTitleNodes(r), "”");
    if (r.image) picture.replaceChildren(h("img", { src: imageUrl(r.id, r.image.sha256), alt: "" }));
  }, () => { /* the room page explains a missing room once it starts */ });
  return root;
}
