/**
 * The base image under the drawing: the live one from the document (`meta.image`), or while
 * a step is previewed that step's own; the "no image yet" prompt when there is none; the
 * first fit to the window (once per page, so a later replacement keeps the user's view);
 * and uploading a new one (file picker, or a drop handled by input.ts).
 */
import type { CanvasDoc, ImageRef } from "@annotd/client";
import type { Scene } from "../render/scene";
import type { Viewport } from "../render/viewport";
import { confirmDialog, type Identity } from "../ui/dialog";
import type { Shell } from "../ui/shell";
import { button, h } from "../ui/dom";
import { toast } from "../ui/toast";
import { imageUrl, uploadImage, type ClientConfig } from "./http";
import { uploadErrorInWords, uploadProblem } from "./upload-check";

/** The base image reads the document's image, draws it in the scene and uploads as us. */
interface ImageContext {
  readonly roomId: string;
  readonly config: Pick<ClientConfig, "imageTypes" | "limits">;
  readonly identity: Pick<Identity, "userId">;
  readonly canvas: Pick<CanvasDoc, "image" | "onImage">;
  readonly scene: Pick<Scene, "setImage">;
  readonly viewport: Pick<Viewport, "set" | "showRect">;
  readonly shell: Pick<Shell, "stage">;
}

export class BaseImage {
  /** While previewing: the image of the previewed step (undefined when live). */
  private previewed: ImageRef | null | undefined = undefined;
  private fitted = false;
  /** The live image's size when last shown: a replacement of another size re-fits the view. */
  private shownSize: { width: number; height: number } | null = null;
  private emptyState: HTMLElement;

  constructor(private app: ImageContext) {
    this.emptyState = h("div", { class: "empty-state" });
    app.shell.stage.appendChild(this.emptyState);
    app.canvas.onImage(() => this.show());
  }

  /** Show a previewed step's image (`undefined`: back to the live one). */
  preview(image: ImageRef | null | undefined): void {
    this.previewed = image;
    this.show();
  }

  /** Draw the image that should show now (the document's, unless previewing). */
  show(): void {
    const { scene, canvas, roomId } = this.app;
    const img = this.previewed !== undefined ? this.previewed : canvas.image();
    if (img) {
      scene.setImage(imageUrl(roomId, img.sha256), img.width, img.height);
      this.emptyState.hidden = true;
      if (!this.fitted) {
        this.fitted = true;
        this.fit();
      } else if (this.previewed === undefined && this.shownSize && (this.shownSize.width !== img.width || this.shownSize.height !== img.height)) {
        // The old view framed a picture that is gone; annotations stay where they were in
        // image pixels, which people need to know when the sizes differ.
        const was = this.shownSize;
        this.fit();
        toast(`The image is now ${img.width} × ${img.height} pixels (it was ${was.width} × ${was.height}); the view was fitted to it. Annotations keep their positions in image pixels.`, "info", 10_000);
      }
      if (this.previewed === undefined) this.shownSize = { width: img.width, height: img.height };
    } else {
      scene.setImage(null, 0, 0);
      this.emptyState.hidden = false;
      this.emptyState.replaceChildren(
        h("p", {}, "No image yet. Drop a PNG, JPEG or WebP here, or"),
        button("Choose an image", { text: "Choose an image…", cls: "primary", onClick: () => this.pick() }),
        h("p", { class: "hint" }, "You can also draw on the blank canvas."),
      );
    }
  }

  /** Fit the live image in the window (no image: 100 % at the origin). */
  fit(): void {
    const img = this.app.canvas.image();
    if (img) this.app.viewport.showRect({ x: 0, y: 0, w: img.width, h: img.height }, 24);
    else {
      this.app.viewport.set(1, 0, 0);
    }
  }

  /** Upload a new base image; the outcome is told in a toast. */
  async upload(file: File): Promise<void> {
    const problem = uploadProblem(file, this.app.config);
    if (problem) {
      toast(problem, "error", 10_000);
      return;
    }
    if (this.app.canvas.image()) {
      const ok = await confirmDialog(
        "Replace the image?",
        "The new image replaces the current one for everyone in this room, and Undo cannot bring the old one back. " +
          "Annotations keep their positions in image pixels: if the new image has another size, they may no longer line up with what they marked.",
        "Replace",
      );
      if (!ok) return;
    }
    try {
      await uploadImage(this.app.roomId, file, this.app.identity.userId);
      toast(`Image “${file.name}” uploaded.`);
    } catch (err) {
      toast(uploadErrorInWords(err, file, this.app.config), "error", 10_000);
    }
  }

  /** The file picker, limited to the types the server accepts. */
  pick(): void {
    const input = h("input", { type: "file", accept: this.app.config.imageTypes.join(",") });
    input.addEventListener("change", () => {
      const f = input.files?.[0];
      if (f) void this.upload(f);
    });
    input.click();
  }
}
