/**
 * The room page's frame: top bar (back to rooms, room name, tools, undo/redo, zoom, connection
 * status, help), the stage (canvas), and a side panel area with tabs that panels join through
 * {@link Shell.addPanel}. The comments, versions and history panels plug in here without
 * touching this file: a panel is an id, a title, an order and a mount function.
 */
import { button, h } from "./dom";

export interface Panel {
  id: string;
  title: string;
  /** Tabs are sorted by order (Style 10, People 20; later panels pick larger numbers). */
  order: number;
  /** Build the panel's content once, inside `body`. */
  mount(body: HTMLElement): void;
  /** Called when the panel becomes visible. */
  shown?(): void;
}

interface Mounted {
  panel: Panel;
  tab: HTMLButtonElement;
  body: HTMLElement;
  badge: HTMLElement;
}

export class Shell {
  readonly root: HTMLElement;
  readonly topbar: HTMLElement;
  readonly title: HTMLElement;
  readonly tools: HTMLElement;
  readonly actions: HTMLElement;
  readonly end: HTMLElement;
  readonly status: HTMLElement;
  readonly stage: HTMLElement;
  readonly banner: HTMLElement;
  /** The connection's own bar above the canvas (apart from `banner`: both can show at once). */
  readonly notice: HTMLElement;
  readonly sidebar: HTMLElement;
  /** Narrow screens only (CSS shows them): the overflow menu's and the panel sheet's toggles. */
  readonly menuToggle: HTMLButtonElement;
  readonly panelsToggle: HTMLButtonElement;
  private tabs: HTMLElement;
  private panels: Mounted[] = [];
  private active: string | null = null;

  constructor(parent: HTMLElement, roomName: string) {
    this.title = h("h1", { class: "room-name", title: roomName }, roomName);
    this.tools = h("div", { class: "tools", role: "toolbar", "aria-label": "Tools" });
    this.actions = h("div", { class: "actions", role: "toolbar", "aria-label": "Edit and view" });
    this.status = h("div", { class: "status", role: "status", "aria-live": "polite" });
    this.end = h("div", { class: "end" });
    // On a phone the edit/view buttons and the side panels would leave the canvas no room:
    // they move into a menu and a bottom sheet, each opened from the top bar.
    const overflow = h("div", { class: "overflow", id: "topbar-overflow" }, this.actions, this.end);
    this.menuToggle = button("More actions", { text: "⋯", cls: "narrow-only menu-toggle", onClick: () => this.toggle("menu-open", this.menuToggle) });
    this.menuToggle.setAttribute("aria-controls", "topbar-overflow");
    this.menuToggle.setAttribute("aria-expanded", "false");
    this.panelsToggle = button("Panels", { text: "Panels", cls: "narrow-only panels-toggle", onClick: () => this.toggle("panels-open", this.panelsToggle) });
    this.panelsToggle.setAttribute("aria-controls", "side-panels");
    this.panelsToggle.setAttribute("aria-expanded", "false");
    this.topbar = h(
      "header",
      { class: "topbar" },
      h("a", { class: "back", href: "/", title: "All rooms" }, "← Rooms"),
      this.title,
      this.tools,
      overflow,
      this.status,
      this.menuToggle,
      this.panelsToggle,
    );
    this.stage = h("div", { class: "stage", tabindex: 0, "aria-label": "Canvas: pick a tool above, then Enter places a shape here; arrow keys move the selection" });
    this.banner = h("div", { class: "banner", hidden: true, role: "status" });
    this.notice = h("div", { class: "notice", hidden: true, role: "status" });
    this.tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Panels" });
    this.sidebar = h("aside", { class: "sidebar", id: "side-panels", "aria-label": "Side panels" }, this.tabs);
    this.root = h("div", { class: "app" }, this.topbar, h("main", { class: "workspace" }, h("div", { class: "stage-wrap" }, this.notice, this.banner, this.stage), this.sidebar));
    parent.appendChild(this.root);
    focusRingOnlyFromTab(this.stage);
    // A button chosen from the menu has done its job: close the menu so the canvas shows again.
    overflow.addEventListener("click", (e) => {
      if ((e.target as Element).closest("button")) this.setOpen("menu-open", this.menuToggle, false);
    });
  }

  private toggle(cls: string, toggle: HTMLButtonElement): void {
    this.setOpen(cls, toggle, !this.root.classList.contains(cls));
  }

  private setOpen(cls: string, toggle: HTMLButtonElement, open: boolean): void {
    this.root.classList.toggle(cls, open);
    toggle.setAttribute("aria-expanded", String(open));
  }

  /** Shows a panel and, on a phone, opens the sheet it lives in. */
  reveal(id: string): void {
    this.show(id);
    this.setOpen("panels-open", this.panelsToggle, true);
  }

  addPanel(panel: Panel): void {
    const body = h("section", { class: `panel panel-${panel.id}`, role: "tabpanel", id: `panel-${panel.id}`, "aria-label": panel.title, hidden: true });
    const badge = h("span", { class: "badge", hidden: true });
    const tab = h("button", { type: "button", role: "tab", id: `tab-${panel.id}`, "aria-controls": `panel-${panel.id}`, "aria-selected": "false", "data-panel": panel.id, title: panel.title },
      h("span", { class: "tab-label" }, panel.title), badge);
    tab.addEventListener("click", () => this.show(panel.id));
    tab.addEventListener("keydown", (e) => this.tabKeys(e));
    const m: Mounted = { panel, tab, body, badge };
    this.panels.push(m);
    this.panels.sort((a, b) => a.panel.order - b.panel.order);
    this.tabs.replaceChildren(...this.panels.map((p) => p.tab));
    for (const p of this.panels) this.sidebar.appendChild(p.body);
    panel.mount(body);
    if (this.active === null) this.show(panel.id);
  }

  private tabKeys(e: KeyboardEvent): void {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const i = this.panels.findIndex((p) => p.panel.id === this.active);
    const next = this.panels[(i + (e.key === "ArrowRight" ? 1 : this.panels.length - 1)) % this.panels.length];
    if (next) {
      this.show(next.panel.id);
      next.tab.focus();
    }
  }

  show(id: string): void {
    this.active = id;
    for (const p of this.panels) {
      const on = p.panel.id === id;
      p.tab.setAttribute("aria-selected", String(on));
      p.tab.tabIndex = on ? 0 : -1;
      p.body.hidden = !on;
      if (on) p.panel.shown?.();
    }
  }

  get activePanel(): string | null {
    return this.active;
  }

  /** A small count on a panel's tab (e.g. unread comments); null hides it. `attention`
   * marks news with a dot; `more` is the rest of the words ("· 2 new"), read by screen readers
   * and shown in the tab's tooltip but not on the tab, so the tab row never has to wrap. */
  setBadge(id: string, text: string | null, attention = false, more = ""): void {
    const p = this.panels.find((m) => m.panel.id === id);
    if (!p) return;
    p.badge.hidden = text === null;
    p.badge.replaceChildren(text ?? "", ...(more && text !== null ? [h("span", { class: "sr-only" }, more)] : []));
    p.badge.classList.toggle("attention", attention && text !== null);
    p.tab.title = text === null ? p.panel.title : `${p.panel.title}: ${text}${more}`;
  }

  /** A top-bar button (e.g. an export dialog); `area` is where it goes. */
  addButton(label: string, onClick: () => void, opts: { text?: string; title?: string; area?: "actions" | "end" } = {}): HTMLButtonElement {
    const b = button(label, { text: opts.text, title: opts.title, onClick });
    (opts.area === "end" ? this.end : this.actions).appendChild(b);
    return b;
  }

  /** A message bar above the canvas (following someone, previewing a version); null hides it. */
  setBanner(content: Node[] | null): void {
    this.banner.hidden = content === null;
    this.banner.replaceChildren(...(content ?? []));
  }
}

/**
 * The canvas shows its focus ring only when focus reached it by Tab (or Shift+Tab): a person
 * moving through the page by keyboard must see where focus is, while one who clicked the
 * canvas and uses shortcuts (R, Delete, arrows) does not need a frame around the drawing.
 */
function focusRingOnlyFromTab(stage: HTMLElement): void {
  let byTab = false;
  document.addEventListener("keydown", (e) => { byTab = e.key === "Tab"; }, true);
  document.addEventListener("pointerdown", () => { byTab = false; }, true);
  stage.addEventListener("focus", () => stage.classList.toggle("kbd-focus", byTab));
  stage.addEventListener("blur", () => stage.classList.remove("kbd-focus"));
}
