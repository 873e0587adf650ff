/**
 * The rooms page (`/`): every room with its image thumbnail, people online and last change;
 * create (name, optional id), open, rename (in place), delete (with confirmation), and set a
 * room's image by file picker, drag-and-drop or paste. Pasting an image (Ctrl/Cmd+V) while a
 * room's card has the focus sets that room's image; anywhere else on the page it makes a new
 * room with that image (named as the form says, if it says) and opens it. Server errors are shown in the server's own words.
 */
import { CLIP_TYPE } from "../app/clip-format";
import { api, imageUrl, uploadImage, type ClientConfig, type RoomSummary } from "../app/http";
import { uploadErrorInWords, uploadProblem } from "../app/upload-check";
import { ID_PATTERN, nameFromUserId } from "@annotd/client";
import { confirmDialog, type Identity } from "./dialog";
import { button, h, relativeTime } from "./dom";
import { howRoomsAreKept } from "./persistence";
import { editRoomName, roomLabel, roomTitle, roomTitleNodes } from "./room-name";
import { toast } from "./toast";

const REFRESH_MS = 5000;
/** The server's id pattern as an <input pattern>: browsers compile it with the v flag, where
 * a literal "-" ending a character class must be escaped. */
const ID_INPUT_PATTERN = ID_PATTERN.replace(/-\]/g, "\\-]");

/** Every room: `GET /v1/rooms` answers a page at a time (in id order), so follow `nextCursor`. */
async function listAll(): Promise<RoomSummary[]> {
  const rooms: RoomSummary[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? "?limit=1000" : `?limit=1000&cursor=${encodeURIComponent(cursor)}`;
    const page: { rooms: RoomSummary[]; nextCursor: string | null } = await api(`/v1/rooms${query}`);
    rooms.push(...page.rooms);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return rooms;
}

export class RoomsPage {
  private list: HTMLElement;
  private error: HTMLElement;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Upload messages per room, kept across the periodic re-render of the list. */
  private statuses = new Map<string, { text: string; error: boolean }>();
  private shown = "";
  private me: HTMLElement;
  /** The rooms listed now, by id (what a paste on a card refers to). */
  private rooms = new Map<string, RoomSummary>();
  /** A name is being edited in place: the periodic refresh would replace the field. */
  private editing = false;

  constructor(
    parent: HTMLElement,
    private config: ClientConfig,
    private identity: Identity | null,
  ) {
    this.me = h("p", { class: "me" });
    this.setIdentity(identity);
    const nameInput = h("input", { type: "text", id: "room-name", name: "name", maxlength: 200, placeholder: "e.g. Weld inspection, batch 7", autocomplete: "off" });
    const idInput = h("input", { type: "text", id: "room-id", name: "id", pattern: ID_INPUT_PATTERN, placeholder: "optional: letters, digits, - and _", autocomplete: "off" });
    this.error = h("p", { class: "error", role: "alert" });
    const form = h("form", { class: "create", "aria-label": "Create a room" },
      h("div", { class: "field" }, h("label", { for: "room-name" }, "Room name"), nameInput),
      h("div", { class: "field" }, h("label", { for: "room-id" }, "Room id (in the address)"), idInput),
      h("button", { type: "submit", class: "primary" }, "Create room"),
      this.error,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.create(nameInput.value.trim(), idInput.value.trim());
    });
    this.list = h("ul", { class: "rooms", "aria-label": "Rooms" });
    parent.appendChild(
      h("div", { class: "rooms-page" },
        h("header", { class: "rooms-head" }, h("h1", {}, "annotd"), h("p", {}, "Annotate one image together, in real time."),
          h("p", { class: "keeping" }, howRoomsAreKept(config.persistence)),
          this.me),
        h("section", {}, h("h2", {}, "New room"), form),
        h("section", {}, h("h2", {}, "Rooms"), this.list),
        h("footer", {}, `annotd ${config.version}`),
      ),
    );
    document.title = "Rooms — annotd";
    document.addEventListener("paste", (e) => {
      const t = e.target as HTMLElement | null;
      if (t?.closest?.("input, textarea, [contenteditable], dialog")) return;
      const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
      if (!file) return;
      e.preventDefault();
      if (e.clipboardData?.getData("text/plain").includes(CLIP_TYPE)) {
        // copied shapes carry a picture of themselves for other apps: not a base image
        toast("These are copied annotations: open a room and paste them there.", "error");
        return;
      }
      const card = document.activeElement?.closest<HTMLElement>("li.room");
      const room = card ? this.rooms.get(card.dataset.roomId ?? "") : undefined;
      const status = card?.querySelector<HTMLElement>(".upload-status");
      if (room && status) void this.upload(room, file, status);
      else void this.createWithImage(nameInput.value.trim(), file);
    });
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  /**
   * Who is using the page. On a first visit the page is built (and shown behind the "Who
   * are you?" dialog) before anyone is known: null until the person answers.
   */
  setIdentity(identity: Identity | null): void {
    this.identity = identity;
    this.me.textContent = identity ? `You are ${identity.name}.` : "";
  }

  destroy(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  private async create(name: string, id: string): Promise<void> {
    this.error.textContent = "";
    const body: Record<string, string> = {};
    if (name) body.name = name;
    if (id) body.id = id;
    try {
      const room = await api<{ id: string }>("/v1/rooms", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      location.assign(`/r/${encodeURIComponent(room.id)}`);
    } catch (err) {
      this.error.textContent = `Could not create the room: ${(err as Error).message}`;
    }
  }

  /** A new room whose image is `file` (a paste on the page), then open it. */
  private async createWithImage(name: string, file: File): Promise<void> {
    this.error.textContent = "";
    const identity = this.identity;
    const problem = identity === null ? "Say who you are first (the dialog above)." : uploadProblem(file, this.config);
    if (problem || identity === null) {
      this.error.textContent = `Could not start a room with the pasted image: ${problem}`;
      return;
    }
    let room: { id: string };
    try {
      room = await api<{ id: string }>("/v1/rooms", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(name ? { name } : {}) });
    } catch (err) {
      this.error.textContent = `Could not create a room for the pasted image: ${(err as Error).message}`;
      return;
    }
    try {
      await uploadImage(room.id, file, identity.userId);
    } catch (err) {
      this.error.textContent = `The room was made, but its image was not set: ${uploadErrorInWords(err, file, this.config)}`;
      this.shown = "";
      void this.refresh();
      return;
    }
    location.assign(`/r/${encodeURIComponent(room.id)}`);
  }

  async refresh(): Promise<void> {
    if (this.editing) return;
    let rooms: RoomSummary[];
    try {
      rooms = await listAll();
    } catch (err) {
      this.list.replaceChildren(h("li", { class: "empty" }, `Cannot list rooms: ${(err as Error).message}`));
      return;
    }
    if (this.editing) return; // a rename began while the list was on its way
    rooms.sort((a, b) => b.lastChangeAt - a.lastChangeAt || roomTitle(a).localeCompare(roomTitle(b)));
    const key = JSON.stringify(rooms) + Math.floor(Date.now() / 60_000); // relative times move each minute
    if (key === this.shown) return; // unchanged: keep the DOM (and the keyboard focus) as it is
    this.shown = key;
    this.rooms = new Map(rooms.map((r) => [r.id, r]));
    if (rooms.length === 0) {
      this.list.replaceChildren(h("li", { class: "empty" }, "No rooms yet: create one above."));
      return;
    }
    // keep focus on the same control across the re-render
    const active = document.activeElement;
    const room = active?.closest("li.room")?.getAttribute("data-room-id");
    const label = active?.getAttribute("aria-label") ?? active?.textContent;
    this.list.replaceChildren(...rooms.map((r) => this.card(r)));
    if (room && label) {
      const card = this.list.querySelector(`li.room[data-room-id="${CSS.escape(room)}"]`);
      const again = [...(card?.querySelectorAll<HTMLElement>("a, button") ?? [])].find((el) => (el.getAttribute("aria-label") ?? el.textContent) === label);
      again?.focus();
    }
  }

  private card(r: RoomSummary): HTMLElement {
    const url = `/r/${encodeURIComponent(r.id)}`;
    const label = roomLabel(r);
    const thumb = r.image
      ? h("img", { src: imageUrl(r.id, r.image.sha256), alt: `Image of ${label}`, loading: "lazy", width: 160, height: 100 })
      : h("span", { class: "no-image" }, "No image");
    const people = r.users.map(nameFromUserId);
    const st = this.statuses.get(r.id);
    const status = h("p", { class: st?.error ? "upload-status error" : "upload-status", role: "status" }, st?.text ?? "");
    const upload = button(`Set the image of ${label}`, { text: r.image ? "Replace image…" : "Add image…", onClick: () => this.pick(r, status) });
    const del = button(`Delete room ${label}`, { text: "Delete", cls: "danger", onClick: () => void this.remove(r) });
    const heading = h("h3", {}, h("a", { href: url }, ...roomTitleNodes(r)));
    const rename = button(`Rename room ${label}`, { text: "Rename", onClick: () => this.rename(r, heading) });
    const li = h("li", { class: "room", "data-room-id": r.id },
      h("a", { class: "thumb", href: url, tabindex: -1, "aria-hidden": "true" }, thumb),
      h("div", { class: "info" },
        heading,
        h("p", { class: "meta" },
          r.clients ? `${r.clients} online${people.length ? `: ${people.join(", ")}` : ""}` : "Nobody online",
          " · ",
          `last change ${relativeTime(r.lastChangeAt * 1000)}`,
          r.image ? ` · ${r.image.width}×${r.image.height}` : ""),
        h("div", { class: "row" }, h("a", { href: url, class: "button primary" }, "Open"), upload, rename, del),
        status,
      ),
    );
    li.addEventListener("dragover", (e) => {
      if (e.dataTransfer?.types.includes("Files")) {
        e.preventDefault();
        li.classList.add("drop");
      }
    });
    li.addEventListener("dragleave", () => li.classList.remove("drop"));
    li.addEventListener("drop", (e) => {
      li.classList.remove("drop");
      const f = e.dataTransfer?.files[0];
      if (!f) return;
      e.preventDefault();
      void this.upload(r, f, status);
    });
    return li;
  }

  private pick(r: RoomSummary, status: HTMLElement): void {
    const input = h("input", { type: "file", accept: this.config.imageTypes.join(","), "aria-label": `Image file for ${roomLabel(r)}` });
    input.addEventListener("change", () => {
      const f = input.files?.[0];
      if (f) void this.upload(r, f, status);
    });
    input.click();
  }

  /** Upload a file as a room's image; exposed for tests through the file input too. */
  async upload(r: RoomSummary, file: File, status: HTMLElement): Promise<void> {
    const show = (text: string, error: boolean) => {
      this.statuses.set(r.id, { text, error });
      const el = this.list.querySelector(`li.room[data-room-id="${CSS.escape(r.id)}"] .upload-status`) ?? status;
      el.textContent = text;
      el.className = error ? "upload-status error" : "upload-status";
    };
    const problem = this.identity === null ? "Say who you are first (the dialog above)." : uploadProblem(file, this.config);
    if (problem) {
      show(problem, true);
      return;
    }
    show(`Uploading ${file.name}…`, false);
    try {
      const img = await uploadImage(r.id, file, this.identity!.userId);
      this.shown = "";
      await this.refresh();
      show(`Image set (${img.width}×${img.height}).`, false);
    } catch (err) {
      show(uploadErrorInWords(err, file, this.config), true);
    }
  }

  /** Rename in place (`PATCH /v1/rooms/{id}`); the periodic refresh pauses meanwhile. */
  private rename(r: RoomSummary, heading: HTMLElement): void {
    const identity = this.identity;
    if (identity === null) {
      toast("Say who you are first (the dialog above).", "error");
      return;
    }
    this.editing = true;
    const save = async (name: string): Promise<boolean> => {
      try {
        await api(`/v1/rooms/${encodeURIComponent(r.id)}`, {
          method: "PATCH", headers: { "Content-Type": "application/json", "X-Annotd-User": identity.userId }, body: JSON.stringify({ name }),
        });
        return true;
      } catch (err) {
        toast(`Could not rename the room: ${(err as Error).message}`, "error");
        return false;
      }
    };
    editRoomName(heading, r, save, () => {
      this.editing = false;
      this.shown = "";
      void this.refresh().then(() => {
        const again = this.list.querySelector<HTMLElement>(`li.room[data-room-id="${CSS.escape(r.id)}"] h3 a`);
        again?.focus();
      });
    });
  }

  private async remove(r: RoomSummary): Promise<void> {
    const ok = await confirmDialog(`Delete “${roomLabel(r)}”?`, "Everyone in it is disconnected, and its annotations, comments and versions are gone for good.");
    if (!ok) return;
    try {
      await api(`/v1/rooms/${encodeURIComponent(r.id)}`, { method: "DELETE" });
      toast(`Room “${roomLabel(r)}” deleted.`);
      this.shown = "";
    } catch (err) {
      toast(`Could not delete the room: ${(err as Error).message}`, "error");
    }
    void this.refresh();
  }
}
