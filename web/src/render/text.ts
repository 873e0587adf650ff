/**
 * Text layout by the export's rules (scene.py `wrap_lines`, `text_op`): hard breaks on "\n",
 * greedy word wrap in the box width (spaces at a break dropped, over-long words broken between
 * characters), widths measured with the SAME font files at a 512 px reference size (so line
 * breaks do not depend on zoom), line height 1.25, first baseline centred in the first line
 * box with the font's ascent/descent as the server reads them (GET /v1/client-config), no
 * kerning or ligatures (the server lays text out with FreeType's basic engine).
 */
import type { Style } from "@annotd/client";
import type { TextOp, TextLineOp } from "./paint";

export const LINE_HEIGHT = 1.25;
export const REF_SIZE = 512;
export const FONT_CSS: Record<string, string> = { sans: "annotd-sans", serif: "annotd-serif", mono: "annotd-mono" };
export const FONT_WEIGHT: Record<string, number> = { normal: 400, bold: 700 };

/** Ascent and descent at REF_SIZE px, per family and weight (from the server). */
export type FontMetrics = Record<string, Record<string, { ascent: number; descent: number }>>;

const FALLBACK = { ascent: 0.93 * REF_SIZE, descent: 0.25 * REF_SIZE };

export function cssFont(family: string, weight: string, size: number): string {
  return `${FONT_WEIGHT[weight] ?? 400} ${size}px "${FONT_CSS[family] ?? FONT_CSS.sans}"`;
}

export class TextLayout {
  private ctx: CanvasRenderingContext2D | null = null;
  private widths = new Map<string, number>();
  metrics: FontMetrics = {};

  private context(): CanvasRenderingContext2D | null {
    if (this.ctx === null && typeof document !== "undefined") {
      const ctx = document.createElement("canvas").getContext("2d");
      if (ctx !== null) {
        (ctx as unknown as { fontKerning: string }).fontKerning = "none";
        this.ctx = ctx;
      }
    }
    return this.ctx;
  }

  /** Forget measured widths (after the web fonts finished loading). */
  reset(): void {
    this.widths.clear();
  }

  /** Advance width of `text` at `size` px. */
  measure(family: string, weight: string, size: number, text: string): number {
    const key = `${family}|${weight}|${text}`;
    let w = this.widths.get(key);
    if (w === undefined) {
      const ctx = this.context();
      if (ctx === null) w = text.length * REF_SIZE * 0.55;
      else {
        ctx.font = cssFont(family, weight, REF_SIZE);
        w = ctx.measureText(text).width;
      }
      if (this.widths.size > 50_000) this.widths.clear();
      this.widths.set(key, w);
    }
    return (w * size) / REF_SIZE;
  }

  wrapLines(text: string, family: string, weight: string, size: number, width: number | null): string[] {
    const out: string[] = [];
    const fits = (s: string) => width !== null && this.measure(family, weight, size, s.replace(/ +$/, "")) <= width;
    for (const para of text.split("\n")) {
      if (width === null || width <= 0) {
        out.push(para);
        continue;
      }
      let line = "";
      for (const token of para.split(/( +)/)) {
        if (!token) continue;
        if (/^ +$/.test(token) || fits(line + token)) {
          line += token;
          continue;
        }
        if (line.trim()) {
          out.push(line.replace(/ +$/, ""));
          line = "";
        }
        if (fits(line + token)) {
          line += token;
          continue;
        }
        for (const ch of token) {
          if (line.trim() && !fits(line + ch)) {
            out.push(line);
            line = "";
          }
          line += ch;
        }
      }
      out.push(line.replace(/ +$/, ""));
    }
    return out;
  }

  fontMetrics(family: string, weight: string): { ascent: number; descent: number } {
    return this.metrics[family]?.[weight] ?? FALLBACK;
  }

  textOp(text: string, x: number, y: number, w: number, s: Style, wrap: boolean): TextOp {
    const fam = s.fontFamily;
    const wt = s.fontWeight;
    const size = s.fontSize;
    const lines = this.wrapLines(text, fam, wt, size, wrap ? w : null);
    const m = this.fontMetrics(fam, wt);
    const asc = (m.ascent * size) / REF_SIZE;
    const desc = (m.descent * size) / REF_SIZE;
    const lh = LINE_HEIGHT * size;
    const first = y + (lh - (asc + desc)) / 2 + asc;
    const anchor = s.textAlign === "center" ? "m" : s.textAlign === "right" ? "r" : "l";
    const ax = anchor === "l" ? x : anchor === "m" ? x + w / 2 : x + w;
    const out: TextLineOp[] = lines.map((line, i) => ({ text: line, x: ax, baseline: first + i * lh, anchor }));
    return { kind: "text", lines: out, family: fam, weight: wt, size, color: s.stroke };
  }

  /** Height the text needs in its box (lines × line height), for auto-growing text boxes. */
  textHeight(text: string, w: number, s: Style, wrap: boolean): number {
    return this.wrapLines(text, s.fontFamily, s.fontWeight, s.fontSize, wrap ? w : null).length * LINE_HEIGHT * s.fontSize;
  }
}
