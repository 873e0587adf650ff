/**
 * How large an export may be, from the server's own limit (`maxExportPixels` in
 * /v1/client-config): the form offers only scales the server will make, and a refusal is
 * said in pixels a person can picture, not in the name of a configuration key.
 */
import { RpcError } from "@annotd/client";

/** The server's bound on `scale` whatever the image (protocol.md, exports.create). */
export const MAX_SCALE = 8;
/** CSS pixels per inch: `dpi` is `scale` × this. */
export const CSS_DPI = 96;

/** The largest scale (one decimal, rounded down) whose output of a `w` × `h` image stays
 * within `maxPixels`; {@link MAX_SCALE} when the limit or the size is unknown. */
export function largestScale(maxPixels: number | undefined, w: number, h: number): number {
  if (!maxPixels || !(w > 0) || !(h > 0)) return MAX_SCALE;
  const fit = Math.floor(Math.sqrt(maxPixels / (w * h)) * 10) / 10;
  return Math.max(0.1, Math.min(MAX_SCALE, fit));
}

/** "40 million pixels", "800,000 pixels". */
export function pixelsInWords(n: number): string {
  return n >= 1_000_000 ? `${Number((n / 1_000_000).toFixed(1)).toLocaleString("en")} million pixels` : `${n.toLocaleString("en")} pixels`;
}

/** The server's "too many pixels" refusal in words, or null for any other error. */
export function tooLargeInWords(err: unknown): string | null {
  if (!(err instanceof RpcError)) return null;
  const d = err.data as { width?: unknown; height?: unknown; maxPixels?: unknown } | undefined;
  if (typeof d?.width !== "number" || typeof d.height !== "number" || typeof d.maxPixels !== "number") return null;
  return `That export would be ${d.width.toLocaleString("en")} × ${d.height.toLocaleString("en")} pixels; this server makes images of at most ${pixelsInWords(d.maxPixels)}. Choose a smaller size.`;
}
