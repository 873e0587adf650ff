/**
 * A room's title as people read it. The server stores the room's id as its name when it was
 * created without one (`rooms.create` without `name`), so a name equal to the id means "no
 * name": the page says "Untitled room" and shows the id small beside it, rather than titling
 * everything with a random string such as "hX3k9_QzPq2a".
 */
import { h } from "./dom";

/** The words for `document.title`. */
export function roomTitle(name: string, id: string): string {
  return name === id ? "Untitled room" : name;
}

/** The words for a label that must tell rooms apart ("Delete room Untitled room (hX3k…)"). */
export function roomLabel(name: string, id: string): string {
  return name === id ? `Untitled room (${id})` : name;
}

/** Title nodes: the name, or "Untitled room" with the id small beside it. */
export function roomTitleNodes(name: string, id: string): Node[] {
  if (name !== id) return [document.createTextNode(name)];
  return [h("span", { class: "untitled" }, "Untitled room"), h("span", { class: "room-id", title: "The room's id (in its address)" }, id)];
}
