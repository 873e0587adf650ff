/**
 * Where a floating box (the new-comment box) goes so that it does not cover what it is
 * about: to the right of the target, else to its left, below, above; when the target leaves
 * no room on any side (it fills the view), the side with the most room, clamped to the view.
 * Screen pixels, relative to the area the box lives in.
 */
import type { Rect } from "@annotd/client";

const GAP = 12;
const MARGIN = 8;

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), Math.max(lo, hi));

export function beside(target: Rect, w: number, h: number, areaW: number, areaH: number): { left: number; top: number } {
  const x1 = target.x + target.w, y1 = target.y + target.h;
  const top = clamp(target.y, MARGIN, areaH - h - MARGIN);
  const left = clamp(target.x, MARGIN, areaW - w - MARGIN);
  const room = [
    { space: areaW - MARGIN - (x1 + GAP), need: w, at: { left: x1 + GAP, top } },
    { space: target.x - GAP - MARGIN, need: w, at: { left: target.x - GAP - w, top } },
    { space: areaH - MARGIN - (y1 + GAP), need: h, at: { left, top: y1 + GAP } },
    { space: target.y - GAP - MARGIN, need: h, at: { left, top: target.y - GAP - h } },
  ];
  const fits = room.find((r) => r.space >= r.need);
  if (fits) return fits.at;
  const most = room.reduce((a, b) => (b.space / b.need > a.space / a.need ? b : a));
  return { left: clamp(most.at.left, MARGIN, areaW - w - MARGIN), top: clamp(most.at.top, MARGIN, areaH - h - MARGIN) };
}
