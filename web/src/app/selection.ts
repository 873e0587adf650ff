/** The local selection (annotation ids), observable; sent to others through presence. */
import { Emitter } from "@annotd/client";

export class Selection extends Emitter<{ change: readonly string[] }> {
  private list: string[] = [];

  get ids(): readonly string[] {
    return this.list;
  }

  has(id: string): boolean {
    return this.list.includes(id);
  }

  set(ids: Iterable<string>): void {
    const next = [...new Set(ids)];
    if (next.length === this.list.length && next.every((id, i) => id === this.list[i])) return;
    this.list = next;
    this.emit("change", this.list);
  }

  toggle(ids: string[]): void {
    const cur = new Set(this.list);
    const allIn = ids.every((id) => cur.has(id));
    for (const id of ids) {
      if (allIn) cur.delete(id);
      else cur.add(id);
    }
    this.set(cur);
  }

  clear(): void {
    this.set([]);
  }
}
