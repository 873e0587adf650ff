/**
 * Style panel: stroke, fill, width, line style, opacity, font family/size/weight, alignment,
 * arrowheads, and the arrange commands (z-order, group, duplicate, delete, lock). With a
 * selection it edits the selection (one undo step per change); without, the style of the
 * next shape drawn.
 */
import type { Annotation, Arrowhead, Style } from "@annotd/client";
import type { ToolId } from "../../tools/tool";
import { PALETTE } from "../dialog";
import { button, h } from "../dom";
import { titleFor } from "../keymap";
import { styleLockNote } from "../locked";
import type { Panel } from "../shell";

/**
 * The Style panel shows the selection's style (or the next shape's), applies changes to
 * both, and runs the arrange commands.
 */
interface StylePanelContext {
  readonly tool: ToolId;
  selectedAnnotations(): Annotation[];
  newStyle(): Style;
  newArrowheads(type: "line" | "arrow"): { startArrowhead: Arrowhead; endArrowhead: Arrowhead };
  applyStyle(patch: Partial<Style>): void;
  applyArrowheads(patch: { startArrowhead?: Arrowhead; endArrowhead?: Arrowhead }): void;
  onSelectionOrStyle(l: () => void): () => void;
  run(command: string): void;
}

const STROKES = ["#1e1e1e", ...PALETTE, "#ffffff"];
const WIDTHS = [1, 2, 4, 8];
const SIZES = [12, 16, 24, 36, 48];

function radioRow(label: string, name: string, options: { value: string; text: string; title?: string }[], onPick: (v: string) => void): HTMLElement {
  const row = h("div", { class: "row", role: "radiogroup", "aria-label": label, "data-control": name });
  for (const o of options) {
    const b = button(o.title ?? o.text, { text: o.text, cls: "opt", onClick: () => onPick(o.value) });
    b.setAttribute("role", "radio");
    b.setAttribute("data-value", o.value);
    row.appendChild(b);
  }
  return row;
}

function mark(row: HTMLElement, value: string | null): void {
  for (const b of row.querySelectorAll<HTMLElement>("[data-value]")) b.setAttribute("aria-checked", String(b.getAttribute("data-value") === value));
}

function swatchRow(label: string, name: string, colors: { value: string; title: string }[], onPick: (v: string) => void): HTMLElement {
  const row = h("div", { class: "row swatches", role: "radiogroup", "aria-label": label, "data-control": name });
  for (const c of colors) {
    const b = h("button", {
      type: "button", role: "radio", class: c.value === "none" ? "swatch none" : "swatch", "data-value": c.value,
      "aria-label": `${label}: ${c.title}`, title: c.title, style: c.value === "none" ? "" : `--c:${c.value}`,
    });
    b.addEventListener("click", () => onPick(c.value));
    row.appendChild(b);
  }
  const custom = h("input", { type: "color", "aria-label": `${label}: custom colour`, title: "Custom colour" });
  custom.addEventListener("change", () => onPick(custom.value));
  row.appendChild(custom);
  return row;
}

export function stylePanel(app: StylePanelContext): Panel {
  return {
    id: "style",
    title: "Style",
    order: 10,
    mount(body) {
      const heading = h("p", { class: "panel-heading" });
      const lockNote = h("p", { class: "lock-note", role: "status" });
      const apply = (patch: Partial<Style>) => app.applyStyle(patch);
      const stroke = swatchRow("Stroke", "stroke", STROKES.map((c) => ({ value: c, title: c })), (v) => apply({ stroke: v }));
      const fill = swatchRow("Fill", "fill", [{ value: "none", title: "no fill" }, ...PALETTE.map((c) => ({ value: `${c}40`, title: `${c} translucent` })), { value: "#ffffff", title: "white" }], (v) => apply({ fill: v }));
      const width = radioRow("Stroke width", "strokeWidth", WIDTHS.map((w) => ({ value: String(w), text: `${w}px`, title: `width ${w}` })), (v) => apply({ strokeWidth: Number(v) }));
      const widthInput = h("input", { type: "number", min: 0, max: 1000, step: 0.5, "aria-label": "Stroke width in pixels", class: "num" });
      widthInput.addEventListener("change", () => {
        const v = Number(widthInput.value);
        if (Number.isFinite(v) && v >= 0 && v <= 1000) apply({ strokeWidth: v });
      });
      width.appendChild(widthInput);
      const dash = radioRow("Line style", "strokeStyle", [
        { value: "solid", text: "━", title: "solid" }, { value: "dashed", text: "╍", title: "dashed" }, { value: "dotted", text: "┈", title: "dotted" },
      ], (v) => apply({ strokeStyle: v as Style["strokeStyle"] }));
      const opacity = h("input", { type: "range", min: 0, max: 100, step: 5, "aria-label": "Opacity in percent", "data-control": "opacity" });
      const opacityOut = h("output", {});
      opacity.addEventListener("input", () => { opacityOut.textContent = `${opacity.value} %`; });
      opacity.addEventListener("change", () => apply({ opacity: Number(opacity.value) / 100 }));
      const family = radioRow("Font", "fontFamily", [
        { value: "sans", text: "Sans" }, { value: "serif", text: "Serif" }, { value: "mono", text: "Mono" },
      ], (v) => apply({ fontFamily: v as Style["fontFamily"] }));
      const size = radioRow("Font size", "fontSize", SIZES.map((s) => ({ value: String(s), text: String(s), title: `font size ${s}` })), (v) => apply({ fontSize: Number(v) }));
      const sizeInput = h("input", { type: "number", min: 1, max: 2000, step: 1, "aria-label": "Font size in pixels", class: "num" });
      sizeInput.addEventListener("change", () => {
        const v = Number(sizeInput.value);
        if (Number.isFinite(v) && v >= 1 && v <= 2000) apply({ fontSize: v });
      });
      size.appendChild(sizeInput);
      const weight = radioRow("Weight", "fontWeight", [{ value: "normal", text: "Regular" }, { value: "bold", text: "Bold" }], (v) => apply({ fontWeight: v as Style["fontWeight"] }));
      const align = radioRow("Alignment", "textAlign", [
        { value: "left", text: "Left", title: "align left" }, { value: "center", text: "Centre", title: "align centre" }, { value: "right", text: "Right", title: "align right" },
      ], (v) => apply({ textAlign: v as Style["textAlign"] }));
      const heads = ["none", "arrow", "triangle", "dot"].map((v) => ({ value: v, text: { none: "—", arrow: "›", triangle: "▸", dot: "•" }[v]!, title: v }));
      const startHead = radioRow("Start arrowhead", "startArrowhead", heads, (v) => app.applyArrowheads({ startArrowhead: v as Arrowhead }));
      const endHead = radioRow("End arrowhead", "endArrowhead", heads, (v) => app.applyArrowheads({ endArrowhead: v as Arrowhead }));
      const cmd = (id: string, label: string, text: string) => button(label, { text, title: titleFor(id, label), cls: "cmd", onClick: () => app.run(id) });
      const lockBtn = cmd("lock", "Lock or unlock", "Lock");
      const arrange = h("div", { class: "arrange" },
        h("div", { class: "row", role: "group", "aria-label": "Order" },
          cmd("back", "Send to back", "⤓ Back"), cmd("backward", "Send backward", "↓ Backward"), cmd("forward", "Bring forward", "↑ Forward"), cmd("front", "Bring to front", "⤒ Front")),
        h("div", { class: "row", role: "group", "aria-label": "Selection" },
          cmd("group", "Group", "Group"), cmd("ungroup", "Ungroup", "Ungroup"), cmd("duplicate", "Duplicate", "Duplicate"), lockBtn, cmd("delete", "Delete", "Delete")),
      );
      const section = (title: string, ...content: Node[]) => h("fieldset", { class: `group group-${title.toLowerCase().replace(/\W+/g, "-")}` }, h("legend", {}, title), ...content);
      const textSection = section("Text", family, size, weight, align);
      const headSection = section("Arrowheads", h("span", { class: "label" }, "Start"), startHead, h("span", { class: "label" }, "End"), endHead);
      const arrangeSection = section("Arrange", arrange);
      const styleSections = [section("Stroke", stroke), section("Fill", fill), section("Width", width), section("Line style", dash),
        section("Opacity", h("div", { class: "row" }, opacity, opacityOut)), textSection, headSection];
      body.append(heading, lockNote, ...styleSections, arrangeSection);

      const refresh = () => {
        const sel = app.selectedAnnotations();
        const s: Style = sel[0]?.style ?? app.newStyle();
        heading.textContent = sel.length === 0 ? "Style for new shapes" : sel.length === 1 ? `1 ${sel[0]!.type} selected` : `${sel.length} annotations selected`;
        mark(stroke, s.stroke);
        mark(fill, s.fill);
        mark(width, String(s.strokeWidth));
        widthInput.value = String(s.strokeWidth);
        mark(dash, s.strokeStyle);
        opacity.value = String(Math.round(s.opacity * 100));
        opacityOut.textContent = `${opacity.value} %`;
        mark(family, s.fontFamily);
        mark(size, String(s.fontSize));
        sizeInput.value = String(s.fontSize);
        mark(weight, s.fontWeight);
        mark(align, s.textAlign);
        const lines = sel.filter((a: Annotation) => a.type === "line" || a.type === "arrow");
        headSection.hidden = !(lines.length > 0 || app.tool === "line" || app.tool === "arrow");
        const ah = lines[0] ?? app.newArrowheads(app.tool === "line" ? "line" : "arrow");
        mark(startHead, ah.startArrowhead);
        mark(endHead, ah.endArrowhead);
        textSection.hidden = !(sel.some((a) => a.type === "text") || app.tool === "text");
        arrangeSection.hidden = sel.length === 0;
        const locked = sel.length > 0 && sel.every((a) => a.locked);
        lockBtn.textContent = locked ? "Unlock" : "Lock";
        lockBtn.setAttribute("aria-pressed", String(locked));
        const note = styleLockNote(sel.filter((a) => a.locked).length, sel.length);
        lockNote.textContent = note ?? "";
        lockNote.hidden = note === null;
        for (const f of styleSections) f.disabled = locked;
      };
      app.onSelectionOrStyle(refresh);
      refresh();
    },
  };
}
