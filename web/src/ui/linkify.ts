/**
 * Web addresses in what people wrote, as links: the text is split into text nodes and
 * `<a>` elements built with DOM calls (never markup), and only `http:`/`https:` addresses
 * become links (no `javascript:`, `data:` or `file:`), opened in a new tab without giving
 * it this page (`rel="noopener noreferrer"`).
 */
import { h } from "./dom";

const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
/** Punctuation that ends a sentence rather than the address ("see https://x.org/a."). */
const TRAILING = ".,;:!?'’”]}";

const count = (s: string, c: string) => s.split(c).length - 1;

/** Drop sentence punctuation from the end; keep a ")" that closes a "(" inside the address. */
function trimTrailing(url: string): string {
  let out = url;
  while (out.length > 0) {
    const last = out[out.length - 1]!;
    if (last === ")" && count(out, "(") >= count(out, ")")) break;
    if (last !== ")" && !TRAILING.includes(last)) break;
    out = out.slice(0, -1);
  }
  return out;
}

/** `text` as nodes: plain text, and a link for every http(s) address in it. */
export function linkified(text: string): Node[] {
  const out: Node[] = [];
  let at = 0;
  for (const m of text.matchAll(URL_RE)) {
    const start = m.index ?? 0;
    const raw = trimTrailing(m[0]);
    let href: string | null = null;
    try {
      const u = new URL(raw);
      if (u.protocol === "http:" || u.protocol === "https:") href = u.href;
    } catch {
      href = null;
    }
    if (href === null) continue;
    if (start > at) out.push(document.createTextNode(text.slice(at, start)));
    out.push(h("a", { href, rel: "noopener noreferrer", target: "_blank" }, raw));
    at = start + raw.length;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}
