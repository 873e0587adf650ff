/**
 * Following someone's view: our viewport shows the rectangle their presence reports, a
 * banner says whom we follow, and it stops when they leave or when we pan or zoom by hand.
 * "By hand" is marked by {@link Following.byUser} around the change (input.ts and the zoom
 * commands), so a viewport change made *by* following never ends it.
 */
import { button, h } from "../ui/dom";
import { toast } from "../ui/toast";
import type { Presence } from "@annotd/client";
import type { Viewport } from "../render/viewport";
import type { Shell } from "../ui/shell";

/** Following reads the peers' viewports, moves ours and shows its banner. */
interface FollowContext {
  readonly presence: Pick<Presence, "peers">;
  readonly viewport: Pick<Viewport, "showRect">;
  readonly shell: Pick<Shell, "setBanner" | "banner">;
}

export class Following {
  /** The followed presence session, or null. */
  session: string | null = null;
  /** True while the viewport moves because of follow (a user's own pan stops following). */
  private applying = false;
  /** True while the user pans/zooms by hand (following someone stops then). */
  private userMoving = false;
  private listeners = new Set<() => void>();

  constructor(private app: FollowContext) {}

  /** Follow a person's viewport (null stops). */
  set(session: string | null): void {
    const { presence, shell } = this.app;
    this.session = session;
    const peer = session ? presence.peers.get(session) : undefined;
    if (peer) {
      shell.setBanner([
        h("span", { class: "dot", style: `--c:${peer.color}` }),
        document.createTextNode(`Following ${peer.name}`),
        button("Stop following", { cls: "link", onClick: () => this.set(null) }),
      ]);
      shell.banner.style.setProperty("--c", peer.color);
      this.apply();
    } else {
      this.session = null;
      shell.setBanner(null);
    }
    this.changed();
  }

  /** The People panel's refresh hook: following changed (or our own name or colour did). */
  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  changed(): void {
    for (const l of this.listeners) l();
  }

  /** Presence changed: show where the followed person looks now (or say they left). */
  peersChanged(): void {
    if (this.session) this.apply();
  }

  /** The viewport changed: a change by hand ends following. */
  viewportChanged(): void {
    if (!this.applying && this.session && this.userMoving) this.set(null);
  }

  /** Run a viewport change the user asked for (it ends following). */
  byUser(fn: () => void): void {
    this.userMoving = true;
    try {
      fn();
    } finally {
      this.userMoving = false;
    }
  }

  private apply(): void {
    const peer = this.session ? this.app.presence.peers.get(this.session) : undefined;
    if (this.session && !peer) {
      toast("The person you followed has left.");
      this.set(null);
      return;
    }
    if (peer?.viewport) {
      this.applying = true;
      this.app.viewport.showRect(peer.viewport);
      this.applying = false;
    }
  }
}
