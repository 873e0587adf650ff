/**
 * A room's name as people read it and edit it, shared by the rooms page and the room's top
 * bar. The server stores the room's id as the name of a room made without one (and of one
 * renamed to nothing), so a name equal to the id reads "Untitled room": nobody chose that
 * random string as a title. Renaming is inline: the title becomes a text field (Enter or
 * leaving it saves, Escape keeps the old name), limited like `rooms.create`'s name.
 */
import { h } from "./dom";

/** What `rooms.create` and `rooms.update` accept as a name (characters). */
const NAME_MAX = 200;
const UNTITLED = "Untitled room";

/** The title to show for a room: its name, or "Untitled room" when it has none of its own. */
export function roomTitle(r: { id: string; name: string }): string {
  return r.name === "" || r.name === r.id ? UNTITLED : r.name;
}

/** The words for a label that must tell rooms apart ("Delete room Untitled room (hX3k…)"). */
export function roomLabel(r: { id: string; name: string }): string {
  return roomTitle(r) === UNTITLED ? `${UNTITLED} (${r.id})` : r.name;
}

/** Title nodes: the name, or "Untitled room" with the id small beside it. */
export function roomTitleNodes(r: { id: string; name: string }): Node[] {
  if (roomTitle(r) !== UNTITLED) return [document.createTextNode(r.name)];
  return [h("span", { class: "untitled" }, UNTITLED), h("span", { class: "room-id", title: "The room's id (in its address)" }, r.id)];
}

/** The name to put in the field when renaming: empty for an untitled room. */
function editableName(r: { id: string; name: string }): string {
  return r.name === r.id ? "" : r.name;
}

/**
 * Replace `host`'s content with a text field holding the room's name; `save` is called with
 * the trimmed new name when it changed (it says whether it worked), and `done` once the field
 * is gone (saved, unchanged or cancelled) to put the title back.
 */
export function editRoomName(
  host: HTMLElement,
  room: { id: string; name: string },
  save: (name: string) => Promise<boolean>,
  done: () => void,
): void {
  const before = editableName(room);
  const input = h("input", {
    type: "text", class: "rename", value: before, maxlength: NAME_MAX, placeholder: UNTITLED,
    "aria-label": "Room name", autocomplete: "off", spellcheck: "false",
  });
  let finished = false;
  const finish = async (keep: boolean) => {
    if (finished) return;
    finished = true;
    const name = input.value.trim();
    if (keep && name !== before) {
      input.disabled = true;
      await save(name);
    }
    done();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      void finish(true);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      void finish(false);
    }
  });
  input.addEventListener("blur", () => void finish(true));
  host.replaceChildren(input);
  input.focus();
  input.select();
}
