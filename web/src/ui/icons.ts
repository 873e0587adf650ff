/** Toolbar icons as small inline SVGs (no icon font, no emoji: they render the same everywhere). */
const NS = "http://www.w3.org/2000/svg";

const PATHS: Record<string, string> = {
  select: "M5 3 L5 16 L8.5 12.5 L11 18 L13 17 L10.6 11.6 L15 11.6 Z",
  hand: "M7 10 V5 a1.2 1.2 0 0 1 2.4 0 V9 M9.4 9 V4 a1.2 1.2 0 0 1 2.4 0 V9 M11.8 9 V5 a1.2 1.2 0 0 1 2.4 0 V10 M14.2 10 V7.5 a1.2 1.2 0 0 1 2.4 0 V12 c0 4 -2.5 6 -5.5 6 c-2.5 0 -3.8 -1.3 -5 -3.4 L3.6 11 a1.2 1.2 0 0 1 2 -1.2 L7 11.5",
  rect: "M3.5 5.5 H16.5 V14.5 H3.5 Z",
  ellipse: "M10 4.5 C14 4.5 17 7 17 10 C17 13 14 15.5 10 15.5 C6 15.5 3 13 3 10 C3 7 6 4.5 10 4.5 Z",
  line: "M4 16 L16 4",
  arrow: "M4 16 L16 4 M9 4 H16 V11",
  polygon: "M10 3 L17 8 L14.5 16.5 H5.5 L3 8 Z",
  freehand: "M3 14 C5 8 7 6 8.5 8 C10 10 9 15 11.5 14.5 C14 14 14 7 17 5",
  text: "M4 5 V4 H16 V5 M10 4 V16 M7.5 16 H12.5",
  undo: "M7 8 H13 a4 4 0 0 1 0 8 H9 M7 8 L10 5 M7 8 L10 11",
  redo: "M13 8 H7 a4 4 0 0 0 0 8 H11 M13 8 L10 5 M13 8 L10 11",
  minus: "M5 10 H15",
  plus: "M5 10 H15 M10 5 V15",
  fit: "M3.5 8 V3.5 H8 M12 3.5 H16.5 V8 M16.5 12 V16.5 H12 M8 16.5 H3.5 V12",
  image: "M3.5 4.5 H16.5 V15.5 H3.5 Z M3.5 13 L8 9 L11.5 12.5 L13.5 10.5 L16.5 13.5 M12.5 7.5 a1 1 0 1 0 0.01 0",
  help: "M7.5 7.5 a2.5 2.5 0 1 1 3.5 2.3 c-0.7 0.3 -1 0.8 -1 1.5 V12 M10 15 V15.2",
  comment: "M4 4.5 H16 V13 H9 L5.5 16 V13 H4 Z",
  history: "M10 3.5 a6.5 6.5 0 1 1 -6.1 4.3 M3.5 4 V8 H7.5 M10 6.5 V10 L12.5 11.5",
  export: "M10 3.5 V12 M6.5 8.5 L10 12 L13.5 8.5 M4 13.5 V16.5 H16 V13.5",
};

export function icon(name: string): SVGSVGElement {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  const p = document.createElementNS(NS, "path");
  p.setAttribute("d", PATHS[name] ?? "");
  svg.appendChild(p);
  return svg;
}
