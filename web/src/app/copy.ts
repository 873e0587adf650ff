/**
 * The page's copy of its room. Every Yjs client holds the whole document (annotations,
 * comments, the image's reference), so when the server loses a room — a restart of a server
 * that keeps rooms in memory — any page that was in it can bring it back. For that this keeps
 * what the document does not hold: the base image's bytes (fetched when the image is
 * loaded). It also knows whether this person changed anything from this page, so nobody is
 * told about edits they never made.
 *
 * A room is "gone" when a page that had joined it is closed with 4404. Then the page keeps
 * trying to rejoin (someone else may re-create the room; the sync exchange then merges this
 * copy into it) and can re-create it itself: same id and name, the same image bytes, then a
 * reconnect whose sync sends everything. Named versions and the history lived only on the
 * server and do not come back.
 */
import { CLOSE, Emitter, type CanvasDoc, type RoomSocket } from "@annotd/client";
import { ApiError, createRoom, imageUrl, uploadImageBytes } from "./http";

/** What the copy needs of the room page. */
export interface CopyContext {
  readonly roomId: string;
  readonly socket: RoomSocket;
  readonly canvas: CanvasDoc;
  userId(): string;
}

export interface CopyEvents extends Record<string, unknown> {
  /** `gone` changed: the room was lost (true) or this page is in it again (false). */
  gone: boolean;
  /** The first change this person made from this page. */
  edited: true;
  /** Something went wrong that the person should know (in words). */
  problem: string;
}

/** First wait before trying to rejoin a lost room, doubled after each try up to the ceiling. */
const REJOIN_FIRST_MS = 2000;
const REJOIN_MAX_MS = 10_000;

export class RoomCopy extends Emitter<CopyEvents> {
  /** This person changed the document from this page (comments are written by the server). */
  edited = false;
  gone = false;
  private image: { sha256: string; bytes: Blob; mime: string } | null = null;
  private fetching: string | null = null;
  private rejoinTimer: ReturnType<typeof setTimeout> | null = null;
  private rejoinDelay = REJOIN_FIRST_MS;
  private recreating: Promise<void> | null = null;
  private restoring = 0;

  constructor(private ctx: CopyContext) {
    super();
    const { socket, canvas } = ctx;
    socket.doc.on("update", (_update: Uint8Array, origin: unknown) => {
      if (origin === socket || this.edited) return;
      this.edited = true;
      this.emit("edited", true);
    });
    canvas.onImage(() => this.keepImage());
    let serverHasImage = true;
    socket.on("roomInfo", (info) => {
      serverHasImage = info.image !== null;
    });
    socket.on("synced", () => {
      if (!serverHasImage) this.restoreImage();
      this.keepImage();
      if (!this.gone) return;
      this.gone = false;
      this.stopRejoining();
      this.emit("gone", false);
    });
    socket.on("closed", ({ code, final }) => {
      // 4404 before this page ever joined is an unknown room, not a lost one: nothing to re-create
      if (!final || code !== CLOSE.ROOM_NOT_FOUND || socket.info === null) return;
      if (!this.gone) {
        this.gone = true;
        this.rejoinDelay = REJOIN_FIRST_MS;
        this.emit("gone", true);
      }
      this.scheduleRejoin();
    });
    window.addEventListener("beforeunload", (e) => {
      if (!this.atRisk()) return;
      e.preventDefault();
      e.returnValue = ""; // older browsers ask only when this is set
    });
  }

  /** The document names an image whose bytes this page does not hold (re-creating would lack it). */
  get imageMissing(): boolean {
    const ref = this.ctx.canvas.image();
    return ref !== null && this.image?.sha256 !== ref.sha256;
  }

  /**
   * Create the room again from this copy, then rejoin so the sync exchange sends it
   * everything. Someone else re-creating it first is fine: the id is taken, this page joins.
   * Rejects with the server's words (an ApiError) when the room cannot be created.
   */
  recreate(): Promise<void> {
    this.recreating ??= this.doRecreate().finally(() => {
      this.recreating = null;
    });
    return this.recreating;
  }

  private async doRecreate(): Promise<void> {
    const { roomId, socket, canvas } = this.ctx;
    const userId = this.ctx.userId();
    let created = true;
    try {
      await createRoom(roomId, socket.info?.name ?? roomId, userId);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "conflict")) throw err;
      created = false; // re-created by someone else meanwhile, with their image
    }
    const ref = canvas.image();
    const image = this.image;
    try {
      if (created && ref !== null && image !== null && image.sha256 === ref.sha256) {
        await uploadImageBytes(roomId, image.bytes, image.mime, userId);
      }
    } finally {
      this.stopRejoining();
      socket.reconnectNow();
    }
  }

  /**
   * The server joined us to a room without an image while our copy names one: the room was
   * made again without this page (`rooms.auto_create`, or re-created from a copy that lacked
   * the bytes), and the sync just told the server of an image it cannot serve. Upload the
   * bytes this page kept (the same sha256, so the reference stays as it is).
   */
  private restoreImage(): void {
    const ref = this.ctx.canvas.image();
    const image = this.image;
    if (ref === null || image === null || image.sha256 !== ref.sha256) return;
    this.restoring++;
    uploadImageBytes(this.ctx.roomId, image.bytes, image.mime, this.ctx.userId())
      .catch((err: unknown) => {
        this.emit("problem", `the room's image could not be uploaded again: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => this.restoring--);
  }

  /** An image upload of `restoreImage` has not been answered yet. */
  get restoringImage(): boolean {
    return this.restoring > 0;
  }

  /** Keep the live image's bytes, once per image, while the server can give them. */
  private keepImage(): void {
    const ref = this.ctx.canvas.image();
    if (ref === null || !this.ctx.socket.connected) return;
    if (this.image?.sha256 === ref.sha256 || this.fetching === ref.sha256) return;
    const sha256 = ref.sha256;
    this.fetching = sha256;
    void fetch(imageUrl(this.ctx.roomId, sha256))
      .then(async (res) => {
        if (!res.ok) return; // replaced or gone meanwhile: the next image or sync tries again
        const bytes = await res.blob();
        if (this.fetching === sha256) this.image = { sha256, bytes, mime: ref.mime };
      })
      .catch(() => {
        /* not reachable now: kept on the next sync */
      })
      .finally(() => {
        if (this.fetching === sha256) this.fetching = null;
      });
  }

  private scheduleRejoin(): void {
    if (this.rejoinTimer !== null) return;
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = null;
      this.ctx.socket.reconnectNow();
    }, this.rejoinDelay);
    this.rejoinDelay = Math.min(REJOIN_MAX_MS, this.rejoinDelay * 2);
  }

  private stopRejoining(): void {
    if (this.rejoinTimer !== null) clearTimeout(this.rejoinTimer);
    this.rejoinTimer = null;
  }

  /** Closing the page now would lose something only this page holds. */
  private atRisk(): boolean {
    const { socket } = this.ctx;
    if (this.gone) return true;
    const apart = socket.state === "reconnecting" || socket.state === "offline";
    return apart && (socket.unsent || socket.pendingAcks > 0);
  }
}
