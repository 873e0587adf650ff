/**
 * JSON-RPC calls on the room socket: one promise per request id, settled by the reply with
 * that id, and rejected with an RpcError in words when no answer comes in time or when the
 * connection is lost (that answer can no longer arrive: nobody should wait for it forever).
 * Sans-I/O: RoomSocket says how to send and hands over every reply it reads.
 */
import { RpcError, isObject } from "./protocol.js";

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: RpcError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class RpcCalls {
  private lastId = 0;
  private pending = new Map<number, Pending>();

  /** Send a request with `send` and wait for its reply (at most `timeoutMs`). */
  call<T>(method: string, params: Record<string, unknown>, timeoutMs: number, send: (text: string) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = ++this.lastId;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(`the server did not answer ${method} in time`, -32000));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  /** A JSON-RPC reply (result or error); one for no call we are waiting on is ignored. */
  settle(msg: Record<string, unknown>): void {
    const id = msg.id;
    const p = typeof id === "number" ? this.pending.get(id) : undefined;
    if (p === undefined) return;
    this.pending.delete(id as number);
    clearTimeout(p.timer);
    if (isObject(msg.error)) {
      const e = msg.error as { code?: number; message?: string; data?: Record<string, unknown> };
      p.reject(new RpcError(String(e.message ?? "request failed"), Number(e.code ?? -32000), e.data));
    } else {
      p.resolve(msg.result);
    }
  }

  /** Reject every call still waiting, with `why` as the reason. */
  failAll(why: string): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RpcError(why, -32000));
    }
    this.pending.clear();
  }
}
