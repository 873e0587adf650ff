/**
 * How much one wheel event zooms. A mouse wheel's notch zooms by the same step with or without
 * Ctrl (Ctrl+wheel is what people use to zoom in other apps; it must not jump ×2.7 where a plain
 * notch goes ×1.16). A trackpad pinch arrives as Ctrl+wheel with small fractional deltas and
 * keeps its faster rate so a pinch follows the fingers.
 */
const NOTCH_RATE = 0.0015;
const PINCH_RATE = 0.01;

/** The scale factor for a wheel event whose vertical delta is `dy` screen pixels. */
export function wheelZoomFactor(dy: number, ctrl: boolean, mouseWheel: boolean): number {
  return Math.exp(-dy * (ctrl && !mouseWheel ? PINCH_RATE : NOTCH_RATE));
}
