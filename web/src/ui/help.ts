/** The `?` help sheet: every shortcut, generated from the keymap table. */
import { modal } from "./dialog";
import { button, h } from "./dom";
import { SHORTCUTS } from "./keymap";

export function showHelp(): void {
  const groups = new Map<string, HTMLElement>();
  for (const s of SHORTCUTS) {
    let dl = groups.get(s.group);
    if (!dl) groups.set(s.group, (dl = h("dl", { class: "keys" })));
    dl.append(h("dt", {}, h("kbd", {}, s.keys)), h("dd", {}, s.description));
  }
  const body: Node[] = [];
  for (const [name, dl] of groups) body.push(h("section", {}, h("h3", {}, name), dl));
  body.push(h("p", { class: "hint" }, "Undo only undoes your own changes. Click a person in People to follow their view. Click the room's title to rename it. Comments stay behind when shapes are copied."));
  const close = button("Close", { cls: "primary" });
  const d = modal("Keyboard shortcuts", [h("div", { class: "help-grid" }, ...body)], [close], "help");
  close.addEventListener("click", () => d.close());
  close.focus();
}
