/**
 * DOM building without markup strings: every string child becomes a text node, so whatever
 * people typed (names, texts, room names) is always shown as text, never parsed as HTML.
 */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A labelled button; `title` shows the shortcut as a tooltip, `label` is what screen readers say. */
export function button(label: string, opts: { text?: string; icon?: Node; title?: string; cls?: string; onClick?: (e: MouseEvent) => void; pressed?: boolean } = {}): HTMLButtonElement {
  const b = h("button", { type: "button", class: opts.cls ?? "", "aria-label": label, title: opts.title ?? label }, opts.icon ?? opts.text ?? label);
  if (opts.pressed !== undefined) b.setAttribute("aria-pressed", String(opts.pressed));
  if (opts.onClick) b.addEventListener("click", opts.onClick as EventListener);
  return b;
}

/** "3 minutes ago" style relative time. */
export function relativeTime(ms: number, now = Date.now()): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 10) return "just now";
  if (s < 60) return `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? "a minute ago" : `${m} minutes ago`;
  const hr = Math.round(m / 60);
  if (hr < 24) return hr === 1 ? "an hour ago" : `${hr} hours ago`;
  const d = Math.round(hr / 24);
  return d === 1 ? "yesterday" : `${d} days ago`;
}

/**
 * A time as people read it: "3 minutes ago", the date and time on hover (`title`), the
 * exact instant for machines (`datetime`). `tickTimes` keeps the words current.
 */
export function timeEl(ms: number, extraTitle = ""): HTMLTimeElement {
  const d = new Date(ms);
  return h("time", { datetime: d.toISOString(), "data-ts": ms, title: `${d.toLocaleString()}${extraTitle}` }, relativeTime(ms));
}

/** Refresh the words of every `timeEl` under `root`. */
export function tickTimes(root: ParentNode): void {
  for (const t of root.querySelectorAll<HTMLTimeElement>("time[data-ts]")) t.textContent = relativeTime(Number(t.dataset.ts));
}

/** "1 change" / "12 changes". */
export function countChanges(n: number): string {
  return `${n} ${n === 1 ? "change" : "changes"}`;
}

/**
 * Rebuild part of a list without losing the keyboard focus: if focus is on a control inside
 * an item of `container` (an element with `data-key`), the control at the same position in
 * the rebuilt item with that key gets it back.
 */
export function keepingFocus(container: Element, rebuild: () => void): void {
  const active = document.activeElement;
  const item = active && container.contains(active) ? active.closest<HTMLElement>("[data-key]") : null;
  const key = item?.dataset.key;
  const index = item && active ? [...item.querySelectorAll("button, input, a, textarea")].indexOf(active) : -1;
  rebuild();
  if (key === undefined || index < 0) return;
  const again = [...container.querySelectorAll<HTMLElement>("[data-key]")].find((el) => el.dataset.key === key);
  const target = again?.querySelectorAll<HTMLElement>("button, input, a, textarea")[index];
  target?.focus();
}

/**
 * Make `parent`'s children one element per item of `items`, in order, keyed by `key`:
 * what is already there (in `cache`) is updated in place and kept, so focus, a caret and
 * half-typed text survive live updates; new items are made, gone ones removed.
 */
export function keyedChildren<T, V>(
  parent: Element, cache: Map<string, V>, items: readonly T[], key: (item: T) => string,
  make: (item: T) => V, update: (view: V, item: T, index: number) => void, root: (view: V) => Element,
): void {
  const keep = new Set(items.map(key));
  for (const [k, v] of cache) {
    if (!keep.has(k)) {
      root(v).remove();
      cache.delete(k);
    }
  }
  items.forEach((item, i) => {
    const k = key(item);
    let v = cache.get(k);
    if (v === undefined) cache.set(k, (v = make(item)));
    update(v, item, i);
    const el = root(v);
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] ?? null);
  });
}
