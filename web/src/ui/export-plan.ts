/**
 * What the export dialog's current options would make, asked of the server (`exports.plan`)
 * as they change: the output size in pixels (the renderer's own rule, so the preview is
 * the file's size whatever the rounding or, without an image, the text layout) against the
 * server's limit, and the legend of the numbered comment badges — who wrote what in each
 * numbered thread — with a button that copies it as text to send along with the picture.
 */
import { planExport, type ExportContext, type ExportPlan, type ExportRequest } from "../app/exports";
import { pixelsInWords } from "../app/export-limits";
import { button, h } from "./dom";
import { toast } from "./toast";

/** The plan needs the socket and the names of the threads' authors. */
export interface ExportPlanContext extends ExportContext {
  readonly comments: { nameOf(userId: string): string };
}

/** Changes closer than this make one question to the server. */
const SETTLE_MS = 120;

function count(n: number): string {
  return n.toLocaleString("en");
}

/** "1 · Alice: Crack in the weld (2 replies, resolved)" */
function legendLine(app: ExportPlanContext, b: ExportPlan["badges"][number]): string {
  const notes = [b.replies ? `${b.replies} ${b.replies === 1 ? "reply" : "replies"}` : "", b.status === "resolved" ? "resolved" : ""].filter(Boolean);
  return `${app.comments.nameOf(b.author)}: ${b.text || "(message deleted)"}${notes.length ? ` (${notes.join(", ")})` : ""}`;
}

export class ExportPlanView {
  /** The size line, for under the Size fields. */
  readonly size = h("output", { class: "export-size", "aria-live": "polite" });
  /** The badges' legend, for under the Comment badges choice. */
  readonly legend = h("div", { class: "badge-legend", hidden: true });
  private asked = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private app: ExportPlanContext) {}

  /** The options changed: `req`, or a sentence saying what is wrong with them. */
  update(req: ExportRequest | string): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const n = ++this.asked;
    if (typeof req === "string") {
      this.size.textContent = req;
      this.size.dataset.state = "over";
      return;
    }
    if (!this.app.socket.connected) {
      this.size.textContent = "The size is shown once connected.";
      this.size.dataset.state = "offline";
      // ask again once connected, unless the options changed meanwhile
      const off = this.app.socket.on("state", () => {
        if (!this.app.socket.connected) return;
        off();
        if (n === this.asked) this.update(req);
      });
      return;
    }
    this.size.dataset.state = "asking";
    this.timer = setTimeout(() => {
      this.timer = null;
      planExport(this.app, req).then(
        (plan) => { if (n === this.asked) this.show(req, plan); },
        () => {
          if (n !== this.asked) return;
          this.size.textContent = "";
          this.size.dataset.state = "unknown";
        },
      );
    }, SETTLE_MS);
  }

  private show(req: ExportRequest, plan: ExportPlan): void {
    const px = plan.width * plan.height;
    const over = plan.maxPixels !== null && px > plan.maxPixels;
    const dims = `${count(plan.width)} × ${count(plan.height)} px`;
    this.size.textContent = req.format === "svg"
      ? `Output: ${dims} (SVG: sharp at any size)`
      : over
        ? `Output: ${dims} — too large: this server makes images of at most ${pixelsInWords(plan.maxPixels!)}.`
        : `Output: ${dims}`;
    this.size.dataset.state = over ? "over" : "ok";
    this.size.dataset.width = String(plan.width);
    this.size.dataset.height = String(plan.height);
    this.showLegend(req, plan);
  }

  private showLegend(req: ExportRequest, plan: ExportPlan): void {
    this.legend.hidden = !req.includeComments;
    if (!req.includeComments) return;
    if (plan.badges.length === 0) {
      this.legend.replaceChildren(h("p", { class: "hint" }, req.commentStates?.includes("resolved") ? "No comment threads: the export has no badges." : "No open comment threads: the export has no badges."));
      return;
    }
    const lines = plan.badges.map((b) => `${b.number}. ${legendLine(this.app, b)}`);
    const copy = button("Copy the list of badges as text", { text: "Copy list" });
    copy.addEventListener("click", () => {
      navigator.clipboard.writeText(lines.join("\n")).then(
        () => toast(`Copied the list of ${plan.badges.length} ${plan.badges.length === 1 ? "badge" : "badges"}.`),
        () => toast("Could not copy: the browser refused access to the clipboard.", "error"),
      );
    });
    this.legend.replaceChildren(
      h("p", { class: "hint" }, "The numbered badges stand for:"),
      h("ol", { class: "legend-list" }, ...plan.badges.map((b) =>
        h("li", { "data-thread": b.threadId }, h("span", { class: "badge-number" }, String(b.number)), " ", legendLine(this.app, b)))),
      copy,
    );
  }
}
