/**
 * Text layout by the export's rules (render/textlayout.py, scene.py `text_op`): hard breaks on
 * "\n", greedy filling at UAX #14 line break opportunities (the `linebreak` package; the
 * export uses uniseg) with spaces at a break dropped and over-long pieces broken between
 * grapheme clusters, widths measured with the SAME font files at a 512 px reference size (so
 * line breaks do not depend on zoom), kerning and ligatures on (the export shapes with
 * HarfBuzz, as Chromium does), line height 1.25, first baseline centred in the first line box
 * with the font's ascent/descent as the server reads them, and each paragraph's direction
 * from its first strong character. Fonts: `annotd-<face>` families (GET /fonts/faces.css),
 * tried per character in the server's fallback order (GET /v1/client-config `fontFamilies`).
 */
import LineBreaker from "linebreak";
import type { Style } from "@annotd/client";
import type { TextOp, TextLineOp } from "./paint";

export const LINE_HEIGHT = 1.25;
export const REF_SIZE = 512;
/** CSS font-family list per text family: the family's own face, then the fallback faces. */
export const FONT_CSS: Record<string, string> = {
  sans: '"annotd-sans"',
  serif: '"annotd-serif"',
  mono: '"annotd-mono"',
};
export const FONT_WEIGHT: Record<string, number> = { normal: 400, bold: 700 };

/** Take the server's fallback order (client-config `fontFamilies`: family -> face families). */
export function setFontFamilies(families: Record<string, string[]> | undefined): void {
  for (const [family, faces] of Object.entries(families ?? {})) FONT_CSS[family] = faces.map((f) => `"${f}"`).join(", ");
}

/** Letters of these blocks are strong right-to-left (R or AL); other letters (and spacing
 * marks) strong left-to-right (L): UAX #9's classes for the letters of every script the
 * export's font list covers (JavaScript has no Bidi_Class property to ask). */
const STRONG_RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}]/u;
const STRONG_LTR = /[\p{L}\p{Mc}]/u;

/** 1 when the paragraph's first strong character is right-to-left (UAX #9 P2-P3), else 0. */
export function baseLevel(para: string): number {
  for (const ch of para) {
    if (!STRONG_LTR.test(ch)) continue; // digits, punctuation, marks, spaces: not strong
    return STRONG_RTL.test(ch) ? 1 : 0;
  }
  return 0;
}

/** `para` cut at its UAX #14 break opportunities (each piece ends at one). */
export function breakUnits(para: string): string[] {
  const out: string[] = [];
  const breaker = new LineBreaker(para);
  let last = 0;
  for (let br = breaker.nextBreak(); br !== null; br = breaker.nextBreak()) {
    if (br.position > last) out.push(para.slice(last, br.position));
    last = br.position;
  }
  return out;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Ascent and descent at REF_SIZE px, per family and weight (from the server). */
export type FontMetrics = Record<string, Record<string, { ascent: number; descent: number }>>;

const FALLBACK = { ascent: 0.93 * REF_SIZE, descent: 0.25 * REF_SIZE };

export function cssFont(family: string, weight: string, size: number): string {
  return `${FONT_WEIGHT[weight] ?? 400} ${size}px ${FONT_CSS[family] ?? FONT_CSS.sans}`;
}

export class TextLayout {
  private ctx: CanvasRenderingContext2D | null = null;
  private widths = new Map<string, number>();
  metrics: FontMetrics = {};

  private context(): CanvasRenderingContext2D | null {
    if (this.ctx === null && typeof document !== "undefined") {
      const ctx = document.createElement("canvas").getContext("2d");
      if (ctx !== null) {
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

  /** Lines and their paragraph's direction (0 LTR, 1 RTL). */
  wrapLines(text: string, family: string, weight: string, size: number, width: number | null): [string, number][] {
    const out: [string, number][] = [];
    const fits = (s: string) => width !== null && this.measure(family, weight, size, s.replace(/ +$/, "")) <= width;
    for (const para of text.split("\n")) {
      const base = baseLevel(para);
      if (width === null || width <= 0) {
        out.push([para, base]);
        continue;
      }
      let line = "";
      for (const unit of breakUnits(para)) {
        if (fits(line + unit)) {
          line += unit;
          continue;
        }
        if (line.trim()) {
          out.push([line.replace(/ +$/, ""), base]);
          line = "";
        }
        if (fits(unit)) {
          line = unit;
          continue;
        }
        for (const { segment } of graphemes.segment(unit)) {
          if (line.trim() && !fits(line + segment)) {
            out.push([line.replace(/ +$/, ""), base]);
            line = "";
          }
          line += segment;
        }
      }
      out.push([line.replace(/ +$/, ""), base]);
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
    const out: TextLineOp[] = lines.map(([line, base], i) => ({ text: line, x: ax, baseline: first + i * lh, anchor, rtl: base === 1 }));
    return { kind: "text", lines: out, family: fam, weight: wt, size, color: s.stroke };
  }

  /** Height the text needs in its box (lines × line height), for auto-growing text boxes. */
  textHeight(text: string, w: number, s: Style, wrap: boolean): number {
    return this.wrapLines(text, s.fontFamily, s.fontWeight, s.fontSize, wrap ? w : null).length * LINE_HEIGHT * s.fontSize;
  }
}
