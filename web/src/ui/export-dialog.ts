/**
 * The export dialog: format (PNG, JPG, SVG), size (scale or DPI), JPG quality, background
 * (white by default, transparent or a colour), comment badges (none, open, all), and what to
 * export (the live canvas, a named version, or the step being previewed). While the options
 * change it shows the output's size in pixels and what the numbered badges stand for
 * (export-plan.ts, from the server). It shows the job's progress, starts the download by itself when the file is ready (with the server's file
 * name) and says what went wrong in words (a full queue, a bad value, a pruned step).
 */
import { inWords } from "../app/errors";
import { CSS_DPI, largestScale, MAX_SCALE, pixelsInWords, tooLargeInWords } from "../app/export-limits";
import { download, runExport, type ExportFormat, type ExportJob, type ExportRequest } from "../app/exports";
import type { Preview } from "../app/preview";
import type { Versions } from "../app/versions";
import type { CanvasDoc, RoomSocket } from "@annotd/client";
import type { ClientConfig } from "../app/http";
import { modal } from "./dialog";
import { button, h } from "./dom";
import { ExportPlanView, type ExportPlanContext } from "./export-plan";
import { icon } from "./icons";
import { titleFor } from "./keymap";
import type { Shell } from "./shell";
import { toast } from "./toast";

/** The dialog offers the live canvas, the versions and the previewed step, and runs the job. */
export interface ExportDialogContext extends ExportPlanContext {
  readonly socket: Pick<RoomSocket, "call" | "on" | "connected" | "lastSeq">;
  readonly preview: Preview;
  readonly versions: Versions;
  /** The image's size and the server's output limit bound the Scale and DPI fields. */
  readonly canvas: Pick<CanvasDoc, "image">;
  readonly config: Pick<ClientConfig, "limits">;
}

/** The button sits in the top bar; the `export` command opens the dialog too. */
interface ExportButtonContext extends ExportDialogContext {
  readonly shell: Pick<Shell, "end">;
  registerCommand(id: string, fn: () => void): void;
}

const LABELS: Record<string, string> = {
  format: "Format", scale: "Scale", dpi: "DPI", background: "Background", quality: "JPG quality",
  seq: "Step", tag: "Version", commentStates: "Comments", includeComments: "Comments",
};

const STATUS_WORDS: Record<string, string> = {
  queued: "Waiting in the export queue…", running: "Rendering…", done: "Done.", failed: "The export failed.", evicted: "The file is no longer kept on the server.",
};

let open: HTMLDialogElement | null = null;

function radios(name: string, legend: string, options: { value: string; text: string }[], checked: string): { el: HTMLFieldSetElement; value: () => string; set: (v: string) => void; input: (v: string) => HTMLInputElement } {
  const inputs = new Map<string, HTMLInputElement>();
  const el = h("fieldset", { class: "group", "data-control": name }, h("legend", {}, legend));
  for (const o of options) {
    const id = `export-${name}-${o.value.replace(/\W/g, "")}`;
    const input = h("input", { type: "radio", name: `export-${name}`, id, value: o.value });
    input.checked = o.value === checked;
    inputs.set(o.value, input);
    el.append(h("label", { for: id, class: "choice" }, input, ` ${o.text}`));
  }
  return {
    el,
    value: () => [...inputs.values()].find((i) => i.checked)?.value ?? checked,
    set: (v) => { const i = inputs.get(v); if (i) i.checked = true; },
    input: (v) => inputs.get(v)!,
  };
}

function sizeText(bytes: number | null | undefined): string {
  if (bytes == null) return "";
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1000))} kB`;
}

/** Open the export dialog; `preset` picks what to export (a version, a step). */
export function openExport(app: ExportDialogContext, preset: { tag?: string; seq?: number } = {}): void {
  if (open?.open) {
    open.querySelector<HTMLElement>("input")?.focus();
    return;
  }
  const cur = app.preview.current;
  const format = radios("format", "Format", [{ value: "png", text: "PNG" }, { value: "jpg", text: "JPG" }, { value: "svg", text: "SVG" }], "png");
  const sizeMode = radios("size", "Size", [{ value: "scale", text: "Scale" }, { value: "dpi", text: "DPI" }], "scale");
  // The largest size the server will make of this image (an SVG is not limited, but one
  // bound for every format keeps the form simple and the PNG of the same options possible).
  const img = app.canvas.image();
  const maxPixels = app.config.limits.maxExportPixels;
  const maxScale = largestScale(maxPixels, img?.width ?? 0, img?.height ?? 0);
  const maxDpi = Math.floor(maxScale * CSS_DPI * 10) / 10;
  const scale = h("input", { type: "number", id: "export-scale", min: 0.1, max: maxScale, step: 0.1, value: Math.min(1, maxScale), "aria-label": `Scale (output pixels per image pixel, 0.1 to ${maxScale})`, class: "num" });
  const dpi = h("input", { type: "number", id: "export-dpi", min: 9.6, max: maxDpi, step: 1, value: Math.min(96, maxDpi), "aria-label": `DPI (9.6 to ${maxDpi})`, class: "num" });
  const why = img && maxPixels && maxScale < MAX_SCALE ? ` for this ${img.width} × ${img.height} image (the server makes images of at most ${pixelsInWords(maxPixels)})` : "";
  sizeMode.el.append(h("div", { class: "row" }, scale, h("span", { class: "hint" }, "×"), dpi, h("span", { class: "hint" }, "dpi")));
  const quality = h("input", { type: "range", id: "export-quality", min: 1, max: 100, step: 1, value: 90, "aria-label": "JPG quality" });
  const qualityOut = h("output", { for: "export-quality" }, "90");
  quality.addEventListener("input", () => { qualityOut.textContent = quality.value; });
  const qualityRow = h("fieldset", { class: "group" }, h("legend", {}, "JPG quality"), h("div", { class: "row" }, quality, qualityOut));
  // White by default, as most people expect of a picture they send on: a transparent PNG
  // shows black or a checkerboard in many viewers where there is no image.
  const bg = radios("background", "Background", [{ value: "white", text: "White" }, { value: "transparent", text: "Transparent" }, { value: "colour", text: "Colour" }], "white");
  const colour = h("input", { type: "color", value: "#ffffff", "aria-label": "Background colour" });
  colour.addEventListener("input", () => bg.set("colour"));
  bg.el.append(colour);
  const jpgNote = h("p", { class: "hint" }, "A JPG has no transparency: a transparent background becomes white.");
  bg.el.append(jpgNote);
  if (img) bg.el.append(h("p", { class: "hint" }, "The image fills the picture: the background shows only through its transparent parts."));
  const badges = radios("comments", "Comment badges", [{ value: "none", text: "None" }, { value: "open", text: "Open threads" }, { value: "all", text: "All threads" }], "none");
  const whatOptions = [{ value: "head", text: "The live canvas" }];
  if (app.versions.list.length) whatOptions.push({ value: "tag", text: "A named version:" });
  const previewSeq = preset.seq ?? (cur?.kind === "seq" ? cur.seq : undefined);
  if (previewSeq !== undefined) whatOptions.push({ value: "seq", text: "The earlier state being viewed" });
  const presetTag = preset.tag ?? (cur?.kind === "tag" ? cur.tag : undefined);
  const what = radios("what", "What to export", whatOptions, presetTag && app.versions.list.length ? "tag" : previewSeq !== undefined ? "seq" : "head");
  const tagSelect = h("select", { "aria-label": "Named version to export" },
    ...[...app.versions.list].reverse().map((v) => h("option", { value: v.tag, title: `tag ${v.tag}, seq ${v.seq}` },
      `${v.name} (${new Date(v.createdAt * 1000).toLocaleString()})`)));
  if (presetTag) tagSelect.value = presetTag;
  tagSelect.addEventListener("change", () => what.set("tag"));
  if (app.versions.list.length) what.input("tag").parentElement!.after(tagSelect);

  const progress = h("progress", { hidden: true, "aria-label": "Export progress" });
  const status = h("p", { class: "export-status", role: "status", "aria-live": "polite" });
  const error = h("p", { class: "error", role: "alert" });
  const go = button("Export and download", { text: "Export", cls: "primary" });
  const close = button("Close the export dialog", { text: "Close" });
  const plan = new ExportPlanView(app);
  sizeMode.el.append(plan.size);
  badges.el.append(plan.legend);
  const refresh = () => {
    const f = format.value() as ExportFormat;
    qualityRow.hidden = f !== "jpg";
    jpgNote.hidden = f !== "jpg";
    bg.input("transparent").disabled = f === "jpg";
    if (f === "jpg" && bg.value() === "transparent") bg.set("white");
    scale.disabled = sizeMode.value() !== "scale";
    dpi.disabled = sizeMode.value() !== "dpi";
  };
  for (const el of [format.el, sizeMode.el]) el.addEventListener("change", refresh);
  refresh();

  const d = modal("Export", [
    h("div", { class: "export-grid" }, format.el, sizeMode.el, qualityRow, bg.el, badges.el, what.el),
    progress, status, error,
  ], [close, go], "export");
  open = d;
  // Closing the dialog does not cancel an export under way: its file still downloads.
  let closed = false;
  close.addEventListener("click", () => d.close());
  d.addEventListener("close", () => { closed = true; open = null; });

  const request = (): ExportRequest | string => {
    const f = format.value() as ExportFormat;
    const req: ExportRequest = { format: f, background: "transparent", includeComments: badges.value() !== "none" };
    if (sizeMode.value() === "scale") {
      const v = Number(scale.value);
      if (!Number.isFinite(v) || v < 0.1 || v > maxScale) return `Scale: give a number from 0.1 to ${maxScale}${why}.`;
      req.scale = v;
    } else {
      const v = Number(dpi.value);
      if (!Number.isFinite(v) || v < 9.6 || v > maxDpi) return `DPI: give a number from 9.6 to ${maxDpi}${why}.`;
      req.dpi = v;
    }
    if (f === "jpg") req.quality = Number(quality.value);
    const b = bg.value();
    req.background = b === "colour" ? colour.value.toLowerCase() : b;
    if (badges.value() !== "none") req.commentStates = badges.value() === "all" ? ["open", "resolved"] : ["open"];
    const w = what.value();
    if (w === "tag") req.tag = tagSelect.value;
    if (w === "seq" && previewSeq !== undefined) req.seq = previewSeq;
    return req;
  };

  // every change of an option asks again what the export would be
  const replan = () => plan.update(request());
  for (const ev of ["input", "change"]) d.querySelector(".export-grid")!.addEventListener(ev, replan);
  replan();

  const show = (job: ExportJob) => {
    status.textContent = STATUS_WORDS[job.status] ?? job.status;
    status.title = `job ${job.jobId}, seq ${job.seq}`;
    status.dataset.status = job.status;
  };

  // While an export runs the button says so with aria-disabled rather than `disabled`: a
  // disabled button loses focus, and focus falling out of the dialog onto the page would
  // leave Escape and the page's shortcuts acting behind a dialog that still looks modal.
  let running = false;
  go.addEventListener("click", async () => {
    if (running) return;
    const req = request();
    error.textContent = "";
    if (typeof req === "string") {
      error.textContent = req;
      return;
    }
    running = true;
    go.setAttribute("aria-disabled", "true");
    progress.hidden = false;
    progress.removeAttribute("value");
    const t0 = performance.now();
    try {
      const job = await runExport(app, req, show);
      if (job.status === "done") {
        download(job);
        if (closed) toast(`Export ready: downloading ${job.fileName ?? "the file"}.`);
        progress.value = 1;
        progress.max = 1;
        status.textContent = `Done: downloading ${job.fileName ?? "the file"} (${sizeText(job.size)}, ${Math.round(performance.now() - t0)} ms).`;
        status.dataset.status = "done";
        d.dataset.lastJob = job.jobId;
        close.focus();
      } else {
        progress.hidden = true;
        error.textContent = job.status === "evicted" ? STATUS_WORDS.evicted! : `The export failed: ${job.error ?? "no reason given"}.`;
        if (closed) toast(error.textContent, "error");
      }
    } catch (err) {
      progress.hidden = true;
      status.textContent = "";
      error.textContent = `Not exported: ${tooLargeInWords(err) ?? inWords(err, LABELS)}`;
    } finally {
      running = false;
      go.removeAttribute("aria-disabled");
      if (!closed && !d.contains(document.activeElement)) go.focus();
    }
  });
  format.input("png").focus();
}

/** The top bar's Export button and the export shortcut. */
export function exportButton(app: ExportButtonContext): void {
  const b = button("Export as PNG, JPG or SVG", { icon: icon("export"), text: undefined, title: titleFor("export", "Export…"), onClick: () => openExport(app) });
  b.append(" Export");
  app.shell.end.prepend(b);
  app.registerCommand("export", () => openExport(app));
}
