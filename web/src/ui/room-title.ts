/**
 * The room's title in the top bar: its name from `roomInfo`, kept current by the server's
 * `rooms.renamed` notification (a rename by anyone shows on every page at once), and a
 * button that turns into a text field to rename the room (`rooms.update`).
 */
import { nameFromUserId, type RoomSocket } from "@annotd/client";
import { inWords } from "../app/errors";
import type { Identity } from "./dialog";
import { h } from "./dom";
import { editRoomName, roomLabel, roomTitle, roomTitleNodes } from "./room-name";
import type { Shell } from "./shell";
import { toast } from "./toast";

/** The title reads the room's info and its rename notifications, and renames as us. */
interface RoomTitleContext {
  readonly roomId: string;
  readonly socket: Pick<RoomSocket, "on" | "call" | "info">;
  readonly shell: Pick<Shell, "title">;
  readonly identity: Pick<Identity, "userId">;
}

export function showRoomTitle(app: RoomTitleContext): void {
  const { socket, shell, roomId } = app;
  // until the first roomInfo the shell's title shows the id from the address
  let name = roomId;
  const label = h("button", { type: "button", class: "room-title", title: "Rename the room" });
  const show = () => {
    const title = roomTitle({ id: roomId, name });
    label.replaceChildren(...roomTitleNodes({ id: roomId, name }));
    label.setAttribute("aria-label", `${title} — rename the room`);
    shell.title.title = roomLabel({ id: roomId, name });
    shell.title.replaceChildren(label);
    document.title = `${title} — annotd`;
  };
  const save = async (next: string): Promise<boolean> => {
    try {
      const info = await socket.call("rooms.update", { roomId, name: next });
      name = info.name;
      toast(`Room renamed to “${roomTitle({ id: roomId, name })}”.`);
      return true;
    } catch (err) {
      toast(`Could not rename the room: ${inWords(err, { name: "Room name" })}`, "error");
      return false;
    }
  };
  label.addEventListener("click", () =>
    editRoomName(shell.title, { id: roomId, name }, save, () => {
      show();
      label.focus();
    }),
  );
  socket.on("roomInfo", (info) => {
    name = info.name;
    if (!shell.title.querySelector("input")) show();
  });
  socket.on("notification", ({ method, params }) => {
    if (method !== "rooms.renamed" || typeof params.name !== "string") return;
    name = params.name;
    if (!shell.title.querySelector("input")) show();
    const by = typeof params.renamedBy === "string" ? params.renamedBy : "";
    if (by && by !== app.identity.userId) toast(`${nameFromUserId(by)} renamed the room to “${roomTitle({ id: roomId, name })}”.`);
  });
}
