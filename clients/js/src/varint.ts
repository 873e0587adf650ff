/**
 * The two primitives of y-protocols' framing: unsigned LEB128 integers and length-prefixed
 * byte strings. Written here rather than imported from lib0 so the package's only runtime
 * dependency is its yjs peer. Integers are built with arithmetic, not bit operators, so
 * seqs beyond 2^31 survive (exact up to 2^53, like every JSON number).
 */

/** Appends to a growing byte list; `bytes()` gives the message. */
export class Writer {
  private parts: number[] = [];
  private chunks: Uint8Array[] = [];
  private size = 0;

  uint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not an unsigned integer: ${n}`);
    while (n >= 0x80) {
      this.parts.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.parts.push(n);
    return this;
  }

  /** Raw bytes, no length. */
  raw(data: Uint8Array): this {
    this.flushParts();
    this.chunks.push(data);
    this.size += data.length;
    return this;
  }

  /** A length-prefixed byte string. */
  blob(data: Uint8Array): this {
    return this.uint(data.length).raw(data);
  }

  private flushParts(): void {
    if (this.parts.length === 0) return;
    this.chunks.push(Uint8Array.from(this.parts));
    this.size += this.parts.length;
    this.parts = [];
  }

  bytes(): Uint8Array {
    this.flushParts();
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Reads from a message front to back; a truncated message throws a RangeError. */
export class Reader {
  pos = 0;
  constructor(readonly data: Uint8Array) {}

  uint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.data.length) throw new RangeError("truncated message");
      const b = this.data[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError("integer too large");
    }
  }

  blob(): Uint8Array {
    const len = this.uint();
    if (this.pos + len > this.data.length) throw new RangeError("truncated message");
    const out = this.data.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Everything not read yet. */
  rest(): Uint8Array {
    const out = this.data.subarray(this.pos);
    this.pos = this.data.length;
    return out;
  }
}
