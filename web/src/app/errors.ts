/**
 * Server errors in words. The server's messages already say what is wrong with which field
 * ("scale: must be <= 8.0"); this turns the field name into the label the person sees and
 * adds what to do for the errors that are about the situation, not the input (a full queue,
 * a pruned step, a lost connection).
 */
import { RpcError } from "@annotd/client";

/** JSON-RPC error codes (protocol.md "Errors"). */
export const RPC = {
  INVALID_PARAMS: -32602,
  ROOM_NOT_FOUND: -32001,
  FORBIDDEN: -32003,
  NOT_FOUND: -32004,
  CONFLICT: -32009,
  GONE: -32010,
  LIMIT: -32029,
  NO_CONNECTION: -32000,
} as const;

/**
 * One sentence for `err`. `labels` maps parameter names (as the server names them, e.g.
 * "scale", "annotation.style.strokeWidth") to what the form calls them.
 */
export function inWords(err: unknown, labels: Record<string, string> = {}): string {
  if (!(err instanceof RpcError)) return err instanceof Error ? err.message : String(err);
  const field = typeof err.data?.field === "string" ? err.data.field : null;
  let msg = err.message;
  if (field !== null && msg.startsWith(`${field}: `)) {
    const label = labels[field] ?? field;
    msg = `${label}: ${msg.slice(field.length + 2)}`;
  }
  msg = msg.replace(/must be >= ([\d.]+)/, "must be at least $1").replace(/must be <= ([\d.]+)/, "must be at most $1");
  switch (err.code) {
    case RPC.LIMIT:
      return `The server is busy: ${msg}.`;
    case RPC.GONE:
      return `That step of the history is no longer kept: ${msg}.`;
    case RPC.FORBIDDEN:
      return `Not allowed: ${msg}.`;
    default:
      return msg;
  }
}
