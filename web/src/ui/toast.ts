/** Short messages in words (server errors, problems), announced to screen readers. */
import { h } from "./dom";

let host: HTMLElement | null = null;

export function toast(message: string, kind: "info" | "error" = "info", ms = 6000): void {
  if (host === null || !host.isConnected) {
    host = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(host);
  }
  const el = h("div", { class: `toast ${kind}` }, kind === "error" ? "⚠ " : "", message);
  host.appendChild(el);
  setTimeout(() => el.remove(), ms);
}
