/** Modal dialogs on <dialog>: confirmation, the name-and-colour question, custom content. */
import { button, h } from "./dom";

export function modal(title: string, body: Node[], actions: HTMLButtonElement[], cls = ""): HTMLDialogElement {
  const d = h("dialog", { class: `modal ${cls}`, "aria-labelledby": "dlg-title" });
  d.append(h("h2", { id: "dlg-title" }, title), ...body, h("div", { class: "actions" }, ...actions));
  document.body.appendChild(d);
  d.addEventListener("close", () => d.remove());
  d.showModal();
  return d;
}

export function confirmDialog(title: string, message: string, ok = "Delete"): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = false;
    const yes = button(ok, { cls: "danger", onClick: () => { answer = true; d.close(); } });
    const no = button("Cancel", { onClick: () => d.close() });
    const d = modal(title, [h("p", {}, message)], [no, yes]);
    d.addEventListener("close", () => resolve(answer));
    no.focus();
  });
}

export const PALETTE = ["#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5", "#0c8599", "#c2255c", "#5c940d"];

export interface Identity {
  userId: string;
  name: string;
  color: string;
}

const KEY = "annotd.identity";

export function loadIdentity(): Identity | null {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? "null") as Partial<Identity> | null;
    if (raw && typeof raw.name === "string" && typeof raw.userId === "string" && typeof raw.color === "string") {
      return { userId: raw.userId, name: raw.name, color: raw.color };
    }
  } catch {
    /* unreadable: ask again */
  }
  return null;
}

function saveIdentity(id: Identity): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(id));
  } catch {
    /* private mode: remembered for this page only */
  }
}

function tag(): string {
  const b = new Uint8Array(4);
  crypto.getRandomValues(b);
  return Array.from(b, (v) => "abcdefghijkmnpqrstuvwxyz23456789"[v & 31]).join("");
}

/**
 * Ask for a display name and colour once; remembered in localStorage. The user id is the
 * first name plus a random tag ("Alice#k3f9"): stable across renames, readable in authors.
 */
export function askIdentity(current: Identity | null = null): Promise<Identity> {
  return new Promise((resolve) => {
    let color = current?.color ?? PALETTE[Math.floor(Math.random() * PALETTE.length)]!;
    const input = h("input", { type: "text", id: "identity-name", maxlength: 40, required: true, autocomplete: "nickname", value: current?.name ?? "" });
    const swatches = h("div", { class: "swatches", role: "radiogroup", "aria-label": "Your colour" });
    const paint = () => {
      for (const b of swatches.querySelectorAll("button")) b.setAttribute("aria-checked", String(b.getAttribute("data-color") === color));
    };
    for (const c of PALETTE) {
      const b = h("button", { type: "button", class: "swatch", role: "radio", "data-color": c, style: `background:${c}`, "aria-label": `colour ${c}`, title: c });
      b.addEventListener("click", () => { color = c; paint(); });
      swatches.appendChild(b);
    }
    paint();
    const error = h("p", { class: "error", role: "alert" });
    const ok = button("Continue", { cls: "primary" });
    const form = h("form", { method: "dialog" }, h("label", { for: "identity-name" }, "Your name (shown to others in this room)"), input, h("p", { class: "label" }, "Your colour"), swatches, error);
    const d = modal(current ? "Change your name" : "Who are you?", [form], [ok], "identity");
    const submit = (e?: Event) => {
      e?.preventDefault();
      const name = input.value.trim();
      if (!name) {
        error.textContent = "Please enter a name.";
        input.focus();
        return;
      }
      // The id keeps the name as typed (spaces and all): people who are not online are named
      // from it (nameFromUserId takes what is before the last "#"), so it must read the same.
      const id: Identity = { userId: current?.userId ?? `${name.replace(/\s+/g, " ").slice(0, 40)}#${tag()}`, name, color };
      saveIdentity(id);
      d.close();
      resolve(id);
    };
    form.addEventListener("submit", submit);
    ok.addEventListener("click", submit);
    d.addEventListener("cancel", (e) => e.preventDefault());
    input.focus();
  });
}
