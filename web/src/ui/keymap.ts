/**
 * Every keyboard shortcut, defined once: the key handler, the tooltips and the `?` help sheet
 * all read this table, so they never disagree. "Mod" is Ctrl (Cmd on a Mac).
 */
interface Shortcut {
  command: string;
  keys: string;
  description: string;
  group: "Tools" | "Edit" | "Points" | "Arrange" | "View" | "Review" | "Help";
  match(e: KeyboardEvent): boolean;
}

const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);
const MOD = isMac ? "⌘" : "Ctrl";

function mod(e: KeyboardEvent): boolean {
  return isMac ? e.metaKey : e.ctrlKey;
}

function plain(key: string) {
  return (e: KeyboardEvent) => !mod(e) && !e.altKey && e.key.toLowerCase() === key;
}

function withMod(key: string, shift = false) {
  return (e: KeyboardEvent) => mod(e) && e.shiftKey === shift && !e.altKey && (e.key.toLowerCase() === key || e.code === key);
}

export const SHORTCUTS: Shortcut[] = [
  { command: "tool.select", keys: "V", description: "Select, move, resize, rotate", group: "Tools", match: plain("v") },
  { command: "tool.hand", keys: "H", description: "Hand (pan)", group: "Tools", match: plain("h") },
  { command: "tool.rect", keys: "R", description: "Rectangle", group: "Tools", match: plain("r") },
  { command: "tool.ellipse", keys: "O", description: "Ellipse", group: "Tools", match: plain("o") },
  { command: "tool.line", keys: "L", description: "Line", group: "Tools", match: plain("l") },
  { command: "tool.arrow", keys: "A", description: "Arrow", group: "Tools", match: plain("a") },
  { command: "tool.polygon", keys: "P", description: "Polygon (Enter or double-click closes)", group: "Tools", match: plain("p") },
  { command: "tool.freehand", keys: "D", description: "Freehand draw", group: "Tools", match: plain("d") },
  { command: "tool.text", keys: "T", description: "Text", group: "Tools", match: plain("t") },
  { command: "tool.comment", keys: "C", description: "Comment: click a shape or a spot, or drag an area", group: "Tools", match: plain("c") },
  { command: "place", keys: "Enter", description: "With a shape tool: place one at the centre of the view (polygon: a triangle; text: a box to type in; freehand needs a pointer)", group: "Tools", match: () => false },
  { command: "undo", keys: `${MOD}+Z`, description: "Undo your last change", group: "Edit", match: withMod("z") },
  { command: "redo", keys: `${MOD}+Shift+Z`, description: "Redo", group: "Edit", match: (e) => withMod("z", true)(e) || withMod("y")(e) },
  { command: "selectAll", keys: `${MOD}+A`, description: "Select all", group: "Edit", match: withMod("a") },
  { command: "copy", keys: `${MOD}+C`, description: "Copy (to this or another room, or as a picture to other apps)", group: "Edit", match: () => false },
  { command: "cut", keys: `${MOD}+X`, description: "Cut (locked annotations are copied, not cut)", group: "Edit", match: () => false },
  { command: "paste", keys: `${MOD}+V`, description: "Paste at the pointer; an image sets the room's image; text makes a text box", group: "Edit", match: () => false },
  { command: "duplicate", keys: `${MOD}+D`, description: "Duplicate", group: "Edit", match: withMod("d") },
  { command: "delete", keys: "Delete", description: "Delete the selection", group: "Edit", match: (e) => !mod(e) && (e.key === "Delete" || e.key === "Backspace") },
  { command: "deselect", keys: "Esc", description: "Clear the selection / stop following / back to live", group: "Edit", match: (e) => e.key === "Escape" },
  { command: "editText", keys: "Enter", description: "Edit the selected text, or the points of the selected line, arrow, polygon or stroke", group: "Edit", match: (e) => e.key === "Enter" && !mod(e) },
  { command: "cycle", keys: "Tab", description: "Select the next annotation (Shift: previous)", group: "Edit", match: () => false },
  { command: "points.edit", keys: "Double-click", description: "Edit the points of a line, arrow, polygon or freehand stroke (also Enter)", group: "Points", match: () => false },
  { command: "points.move", keys: "Drag a point", description: "Move it (a stroke bends between its neighbouring points)", group: "Points", match: () => false },
  { command: "points.add", keys: "Drag an edge's dot", description: "Add a point there (a click adds it in place)", group: "Points", match: () => false },
  { command: "points.delete", keys: "Delete", description: "Delete the selected point (click it first); a stroke's end trims it", group: "Points", match: () => false },
  { command: "points.walk", keys: "Tab · Arrows", description: "Select the next point (Shift: previous) · nudge it 1 px (Shift: 10 px)", group: "Points", match: () => false },
  { command: "points.leave", keys: "Esc · Enter", description: "Leave point editing (or click outside the shape)", group: "Points", match: () => false },
  { command: "nudge", keys: "Arrows", description: "Move the selection 1 px (Shift: 10 px)", group: "Arrange", match: (e) => !mod(e) && e.key.startsWith("Arrow") },
  { command: "forward", keys: `${MOD}+]`, description: "Bring forward", group: "Arrange", match: withMod("BracketRight") },
  { command: "backward", keys: `${MOD}+[`, description: "Send backward", group: "Arrange", match: withMod("BracketLeft") },
  { command: "front", keys: `${MOD}+Shift+]`, description: "Bring to front", group: "Arrange", match: withMod("BracketRight", true) },
  { command: "back", keys: `${MOD}+Shift+[`, description: "Send to back", group: "Arrange", match: withMod("BracketLeft", true) },
  { command: "group", keys: `${MOD}+G`, description: "Group", group: "Arrange", match: withMod("g") },
  { command: "ungroup", keys: `${MOD}+Shift+G`, description: "Ungroup", group: "Arrange", match: withMod("g", true) },
  { command: "lock", keys: `${MOD}+Shift+L`, description: "Lock / unlock", group: "Arrange", match: withMod("l", true) },
  { command: "zoomIn", keys: "+", description: "Zoom in", group: "View", match: (e) => !mod(e) && (e.key === "+" || e.key === "=") },
  { command: "zoomOut", keys: "−", description: "Zoom out", group: "View", match: (e) => !mod(e) && (e.key === "-" || e.key === "_") },
  { command: "zoomFit", keys: "Shift+1", description: "Fit the image", group: "View", match: (e) => e.shiftKey && e.code === "Digit1" },
  { command: "zoom100", keys: "Shift+0", description: "Zoom to 100 %", group: "View", match: (e) => e.shiftKey && e.code === "Digit0" },
  { command: "pan", keys: "Space+drag", description: "Pan (also middle button, two-finger scroll)", group: "View", match: () => false },
  { command: "export", keys: `${MOD}+Shift+E`, description: "Export as PNG, JPG or SVG", group: "Review", match: withMod("e", true) },
  { command: "help", keys: "?", description: "This help", group: "Help", match: (e) => e.key === "?" },
];

export function shortcutFor(command: string): string | null {
  return SHORTCUTS.find((s) => s.command === command)?.keys ?? null;
}

/** "Rectangle (R)" for tooltips. */
export function titleFor(command: string, label: string): string {
  const k = shortcutFor(command);
  return k ? `${label} (${k})` : label;
}

export function isMod(e: KeyboardEvent | MouseEvent): boolean {
  return isMac ? e.metaKey : e.ctrlKey;
}
