/** Paint ops → SVG elements (attribute for attribute what the server's SVG export writes). */
import type { Op, Pt } from "./paint";
import { FONT_CSS, FONT_WEIGHT } from "./text";

export const SVG_NS = "http://www.w3.org/2000/svg";

export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function n(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}

export function pathD(paths: { pts: Pt[]; closed: boolean }[]): string {
  let d = "";
  for (const { pts, closed } of paths) {
    if (pts.length === 0) continue;
    d += `M${n(pts[0]![0])} ${n(pts[0]![1])}`;
    for (let i = 1; i < pts.length; i++) d += `L${n(pts[i]![0])} ${n(pts[i]![1])}`;
    if (closed) d += "Z";
  }
  return d;
}

/** "#rrggbbaa" → ["#rrggbb", alpha]; SVG gets colour and opacity separately, like the export. */
export function splitColor(c: string): [string, number] {
  if (c.length === 9) return [c.slice(0, 7), parseInt(c.slice(7, 9), 16) / 255];
  return [c, 1];
}

function paint(el: Element, attr: "fill" | "stroke", color: string): void {
  const [hex, alpha] = splitColor(color);
  el.setAttribute(attr, hex);
  if (alpha < 1) el.setAttribute(`${attr}-opacity`, n(alpha));
}

export function opElement(op: Op): SVGElement {
  if (op.kind === "fill") {
    const el = svgEl("path", { d: pathD(op.polys.map((pts) => ({ pts, closed: true }))), "fill-rule": "nonzero" });
    paint(el, "fill", op.color);
    return el;
  }
  if (op.kind === "stroke") {
    const el = svgEl("path", {
      d: pathD(op.paths),
      fill: "none",
      "stroke-width": n(op.width),
      "stroke-linecap": op.round ? "round" : "butt",
      "stroke-linejoin": op.round ? "round" : "miter",
    });
    paint(el, "stroke", op.color);
    if (op.dash) el.setAttribute("stroke-dasharray", `${n(op.dash[0])} ${n(op.dash[1])}`);
    return el;
  }
  const g = svgEl("g", {
    "font-family": FONT_CSS[op.family] ?? FONT_CSS.sans!,
    "font-size": n(op.size),
    "font-weight": FONT_WEIGHT[op.weight] ?? 400,
    class: "atext",
  });
  paint(g, "fill", op.color);
  for (const line of op.lines) {
    if (!line.text) continue;
    const start = line.rtl ? "r" : "l";
    const anchor = line.anchor === "m" ? "middle" : line.anchor === start ? "start" : "end";
    const t = svgEl("text", { x: n(line.x), y: n(line.baseline), "text-anchor": anchor });
    if (line.rtl) t.setAttribute("direction", "rtl");
    t.textContent = line.text; // always text, never markup
    g.appendChild(t);
  }
  return g;
}
