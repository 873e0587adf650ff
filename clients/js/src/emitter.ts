/** A tiny typed event emitter: listeners never throw into the emitter's caller. */
export type Listener<T> = (value: T) => void;

export class Emitter<Events extends Record<string, unknown>> {
  private map = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(name: K, fn: Listener<Events[K]>): () => void {
    let set = this.map.get(name);
    if (set === undefined) this.map.set(name, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => set!.delete(fn as Listener<never>);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    const set = this.map.get(name);
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[K]>)(value);
      } catch (err) {
        reportError(err);
      }
    }
  }
}

type ErrorSink = (err: unknown) => void;
let sink: ErrorSink = () => {};

/** Where unexpected errors go (the app shows them in the status area, never the console). */
export function setErrorSink(fn: ErrorSink): void {
  sink = fn;
}

export function reportError(err: unknown): void {
  try {
    sink(err);
  } catch {
    /* the sink itself failed: nothing sensible left to do */
  }
}
