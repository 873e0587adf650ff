/**
 * A WebSocket stand-in for the connection tests: records what the client sends and lets a
 * test play the server (open, frames, close) synchronously, so every step is observable
 * without a network or a clock.
 */
export class FakeWebSocket {
  static readonly instances: FakeWebSocket[] = [];
  static readonly OPEN = 1;
  readyState = 0;
  binaryType = "blob";
  readonly sent: (string | Uint8Array)[] = [];
  closedByClient: { code: number; reason: string } | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeWebSocket.instances.push(this);
  }

  static reset(): void {
    FakeWebSocket.instances.length = 0;
  }

  static last(): FakeWebSocket {
    const ws = FakeWebSocket.instances.at(-1);
    if (ws === undefined) throw new Error("no socket was opened");
    return ws;
  }

  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }

  send(data: string | Uint8Array): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.closedByClient = { code, reason };
    this.serverClose(code, reason);
  }

  // --- the server's side ---

  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }

  receiveJson(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  receiveBinary(bytes: Uint8Array): void {
    this.onmessage?.({ data: bytes.slice().buffer });
  }

  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The JSON texts the client sent, parsed. */
  jsonSent(): Record<string, unknown>[] {
    return this.sent.filter((d): d is string => typeof d === "string").map((d) => JSON.parse(d) as Record<string, unknown>);
  }
}
