/**
 * Styling: the style (and line/arrow arrowheads) the next shapes are drawn with, style
 * changes applied to the selection, and the signal that panels showing "the selection's
 * style" listen to. That signal is throttled to one per 80 ms because it fires on every
 * step of a drag (a patch per pointer move), and a panel rebuilt that often costs frames.
 */
import { STYLE_DEFAULTS, type Arrowhead, type Style } from "@annotd/client";
import type { RoomApp } from "./room";

type Arrowheads = { startArrowhead: Arrowhead; endArrowhead: Arrowhead };

export class Styling {
  private style: Style = { ...STYLE_DEFAULTS };
  private arrowheads: Record<"line" | "arrow", Arrowheads> = {
    line: { startArrowhead: "none", endArrowhead: "none" },
    arrow: { startArrowhead: "none", endArrowhead: "arrow" },
  };
  private listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private app: RoomApp) {}

  newStyle(): Style {
    return { ...this.style };
  }

  newArrowheads(type: "line" | "arrow"): Arrowheads {
    return { ...this.arrowheads[type] };
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The selection or its style may have changed: listeners hear of it within 80 ms. */
  changed(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      for (const l of this.listeners) l();
    }, 80);
  }

  /** Apply a style change to the selection (one undo step), and to the next shapes drawn. */
  apply(patch: Partial<Style>): void {
    const sel = this.app.selectedAnnotations().filter((a) => !a.locked);
    if (sel.length && !this.app.readOnly) {
      this.app.undo.boundary();
      this.app.canvas.patchMany(sel.map((a) => [a.id, { style: patch }]));
      this.app.undo.boundary();
    }
    this.style = { ...this.style, ...patch };
    this.changed();
  }

  /** Arrowheads of the selected lines and arrows, or (nothing selected) of the next ones drawn. */
  applyArrowheads(patch: Partial<Arrowheads>): void {
    const sel = this.app.selectedAnnotations().filter((a) => (a.type === "line" || a.type === "arrow") && !a.locked);
    if (sel.length && !this.app.readOnly) {
      this.app.undo.boundary();
      this.app.canvas.patchMany(sel.map((a) => [a.id, patch]));
      this.app.undo.boundary();
    } else {
      const t = this.app.tool === "line" ? "line" : "arrow";
      this.arrowheads[t] = { ...this.arrowheads[t], ...patch };
    }
    this.changed();
  }
}
