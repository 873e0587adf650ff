/**
 * Paint ops: what an annotation becomes on the way to the screen, in image pixels. Their own
 * module because three sides share them without depending on each other: render/paint.ts
 * makes them, render/text.ts lays out the text ones, render/svg.ts turns them into elements.
 */

export type Pt = [number, number];

interface FillOp {
  kind: "fill";
  polys: Pt[][];
  color: string;
}

interface StrokeOp {
  kind: "stroke";
  paths: { pts: Pt[]; closed: boolean }[];
  width: number;
  color: string;
  round: boolean;
  dash: [number, number] | null;
}

export interface TextLineOp {
  text: string;
  x: number;
  baseline: number;
  anchor: "l" | "m" | "r";
  /** The line's paragraph runs right to left: "start" is its right end. */
  rtl: boolean;
}

export interface TextOp {
  kind: "text";
  lines: TextLineOp[];
  family: string;
  weight: string;
  size: number;
  color: string;
}

export type Op = FillOp | StrokeOp | TextOp;
