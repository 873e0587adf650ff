/**
 * Fractional z keys (protocol.md "Z-order keys"): the npm `fractional-indexing` format, the
 * same the server's annotd/canvas/fractional.py writes. A reorder rewrites one field of one
 * annotation; ties after concurrent inserts are harmless because paint order is (z, id).
 */
import { generateKeyBetween } from "fractional-indexing";
import { FIRST_KEY } from "./schema.js";

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SMALLEST_INTEGER = "A" + "0".repeat(26);

function integerLength(head: string): number {
  if (head >= "a" && head <= "z") return head.charCodeAt(0) - 97 + 2;
  if (head >= "A" && head <= "Z") return 90 - head.charCodeAt(0) + 2;
  return -1;
}

/** True if `key` is well-formed; the reader replaces anything else by "a0" (like the server). */
export function isValidKey(key: unknown): key is string {
  if (typeof key !== "string" || key.length === 0 || key.length > 1024) return false;
  if (key === SMALLEST_INTEGER) return false;
  for (const ch of key) if (!DIGITS.includes(ch)) return false;
  const n = integerLength(key[0]!);
  if (n < 0 || n > key.length) return false;
  const frac = key.slice(n);
  return !frac.endsWith("0");
}

export function keyBetween(a: string | null, b: string | null): string {
  return generateKeyBetween(a, b);
}

export type Direction = "forward" | "backward" | "front" | "back";

/**
 * The new key for moving `index` in `order` (sorted (z, id) pairs) one step or to an end,
 * or null when it is already there. Same rule as the server's `reorder`: step past the
 * neighbour and past any others sharing the neighbour's key.
 */
export function reorderKey(order: { z: string; id: string }[], index: number, direction: Direction): string | null {
  const others = order.filter((_, i) => i !== index).map((o) => o.z);
  if ((direction === "front" || direction === "forward") && index < order.length - 1) {
    if (direction === "front") return keyBetween(others[others.length - 1] ?? null, null);
    const lo = order[index + 1]!.z;
    const hi = others.find((k) => k > lo) ?? null;
    return keyBetween(lo, hi);
  }
  if ((direction === "back" || direction === "backward") && index > 0) {
    if (direction === "back") return keyBetween(null, others[0] ?? null);
    const hi = order[index - 1]!.z;
    let lo: string | null = null;
    for (let i = others.length - 1; i >= 0; i--) {
      if (others[i]! < hi) {
        lo = others[i]!;
        break;
      }
    }
    return keyBetween(lo, hi);
  }
  return null;
}

export { FIRST_KEY };
