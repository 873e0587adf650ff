/**
 * History panel: a slider over every retained step (`oldestSeq`…`headSeq`, kept current)
 * that shows the canvas at that step read-only, says who changed what at that step (and
 * outlines it on the canvas), and marks the named versions on the track. The far right
 * is live. Dragging asks for one step at a time: the newest position wins, so a
 * 1,000-annotation room is not flooded with requests.
 */
import { inWords } from "../../app/errors";
import type { Comments } from "../../app/comments";
import type { HistoryRange, Step } from "../../app/history";
import type { ClientConfig } from "../../app/http";
import { corners } from "@annotd/client";
import type { Scene } from "../../render/scene";
import { svgEl } from "../../render/svg";
import type { Viewport } from "../../render/viewport";
import { button, countChanges, h, timeEl } from "../dom";
import { versionsLast } from "../persistence";
import { article, TYPE_WORDS } from "../pins";
import type { Panel, Shell } from "../shell";
import { previewVersion, type VersionActionsContext } from "./versions";

/**
 * The History panel scrubs the retained range, previews steps and versions, outlines what a
 * step changed in the overlay, and says who did it.
 */
interface HistoryPanelContext extends VersionActionsContext {
  readonly history: HistoryRange;
  readonly comments: Pick<Comments, "nameOf">;
  readonly config: Pick<ClientConfig, "persistence">;
  readonly scene: Pick<Scene, "overlay">;
  readonly viewport: Viewport;
  readonly shell: Pick<Shell, "activePanel">;
}

function what(ids: string[], types: Record<string, string>): string {
  if (ids.length === 1) {
    const t = types[ids[0]!];
    return t ? article(TYPE_WORDS[t] ?? t) : "an annotation";
  }
  const kinds = new Set(ids.map((id) => types[id]));
  const t = kinds.size === 1 ? [...kinds][0] : undefined;
  return `${ids.length} ${t ? `${TYPE_WORDS[t] ?? t}s` : "annotations"}`;
}

/** "Bob added a rectangle, changed 2 arrows." */
function stepWords(step: Step, nameOf: (userId: string) => string): string {
  const who = step.userId === "annotd" ? "The server" : nameOf(step.userId);
  const parts: string[] = [];
  const { created, updated, deleted } = step.annotations;
  if (created.length) parts.push(`added ${what(created, step.types)}`);
  if (updated.length) parts.push(`changed ${what(updated, step.types)}`);
  if (deleted.length) parts.push(`deleted ${what(deleted, step.types)}`);
  if (step.comments.length) parts.push(step.comments.length === 1 ? "changed a comment thread" : `changed ${step.comments.length} comment threads`);
  if (step.image) parts.push("set the base image");
  if (!parts.length) parts.push("changed the document");
  return `${who} ${parts.join(", ")}.`;
}

/**
 * The bar's words for a past step: when it happened and who made it ("Viewing the canvas as
 * it was 5 minutes ago, after Bob's change"), filled in as soon as the step is known (it is
 * fetched alongside the preview, not before it); the seq is in the tooltip.
 */
function stepLabel(range: HistoryRange, seq: number, nameOf: (userId: string) => string): HTMLElement {
  const label = h("span", { class: "step-label", "data-seq": seq, title: `seq ${seq}` }, "Viewing an earlier state of the canvas");
  void range.step(seq).then((step) => {
    if (step) label.replaceChildren("Viewing the canvas as it was ", timeEl(step.ts * 1000, ` (seq ${seq})`), `, after ${step.userId === "annotd" ? "the server's" : `${nameOf(step.userId)}'s`} change`);
  }, () => { /* offline: the words stay general */ });
  return label;
}

const LIVE_MS = 400;

export function historyPanel(app: HistoryPanelContext): Panel {
  const range = app.history;
  let describeLive = () => {};
  let resync = () => {};
  const changes = svgEl("g", { class: "step-changes" });
  app.scene.overlay.appendChild(changes);
  let shownStep: Step | null = null;

  const drawChanges = () => {
    const list = app.preview.shown?.annotations ?? [];
    const ids = shownStep && app.preview.current?.kind === "seq" ? new Set([...shownStep.annotations.created, ...shownStep.annotations.updated]) : new Set<string>();
    const v = app.viewport;
    changes.replaceChildren(...list.filter((a) => ids.has(a.id)).map((a) => {
      const pts = corners(a).map(([x, y]) => v.toScreen(x, y));
      return svgEl("polygon", { class: "changed-outline", "data-annotation-id": a.id, points: pts.map((p) => `${p[0]},${p[1]}`).join(" ") });
    }));
  };
  app.viewport.onChange(drawChanges);

  return {
    id: "history",
    title: "History",
    order: 50,
    mount(body) {
      const rangeText = h("p", { class: "hint" });
      const slider = h("input", { type: "range", id: "history-seq", min: 0, max: 0, step: 1, value: 0, "aria-describedby": "history-step" });
      const marks = h("div", { class: "marks", role: "group", "aria-label": "Named versions on the history" });
      const back = button("One step earlier", { text: "◀ Earlier", onClick: () => go(Number(slider.value) - 1) });
      const fwd = button("One step later", { text: "Later ▶", onClick: () => go(Number(slider.value) + 1) });
      const live = button("Back to live", { text: "Live", onClick: () => go(range.head) });
      const where = h("p", { class: "step-where" });
      const info = h("p", { class: "step-info", id: "history-step", role: "status", "aria-live": "polite" });
      const older = h("div", { class: "older" });
      body.append(
        h("label", { for: "history-seq", class: "panel-heading" }, "Step in the history"),
        rangeText, h("div", { class: "scrubber" }, slider, marks), h("div", { class: "row" }, back, fwd, live), where, info, older,
      );

      const position = () => (app.preview.current ? app.preview.current.seq : range.head);
      const sync = () => {
        slider.min = String(range.oldest);
        slider.max = String(range.head);
        // While a step is being fetched the slider stays where the person put it: a preview
        // that just arrived (or a range update) must not move it back and eat a keypress.
        slider.value = String(wanted ?? fetching ?? position());
        const versions = versionsLast(app.config.persistence);
        rangeText.textContent = range.oldest === 0
          ? `Every change is kept so far (${countChanges(range.head)}); ${versions}.`
          : `The last ${countChanges(range.head - range.oldest)} are kept; older ones were pruned; ${versions}.`;
        rangeText.title = `seq ${range.oldest} to ${range.head}`;
        const seq = position();
        slider.setAttribute("aria-valuetext", seq >= range.head ? "live" : `${countChanges(range.head - seq)} before live`);
        back.disabled = seq <= range.oldest;
        fwd.disabled = seq >= range.head;
        live.disabled = app.preview.current === null;
        const span = Math.max(1, range.head - range.oldest);
        const inside = app.versions.list.filter((v) => v.seq >= range.oldest && v.seq <= range.head);
        // a mark whose label would overlap the previous one goes on the next row (label widths
        // estimated from their text: the panel may be hidden, with nothing laid out)
        const track = marks.clientWidth || 260;
        const rowEnds: number[] = [];
        marks.replaceChildren(...inside.map((v) => {
          const b = button(`Version ${v.name}: show it`, { text: v.name, cls: "tag-mark", onClick: () => void previewVersion(app, v) });
          b.title = `Version “${v.name}”, saved ${new Date(v.createdAt * 1000).toLocaleString()} (seq ${v.seq})`;
          const pct = ((v.seq - range.oldest) / span) * 100;
          const width = 22 + 6.5 * v.name.length;
          const left = (pct / 100) * (track - width);
          let row = rowEnds.findIndex((end) => left > end + 4);
          if (row < 0) row = rowEnds.push(0) - 1;
          rowEnds[row] = left + width;
          b.style.left = `${pct}%`;
          b.style.top = `${row * 24}px`;
          b.style.transform = `translateX(-${pct}%)`;
          b.dataset.seq = String(v.seq);
          return b;
        }));
        marks.style.height = `${Math.max(1, rowEnds.length) * 24}px`;
        const outside = app.versions.list.filter((v) => v.seq < range.oldest);
        older.replaceChildren(...(outside.length ? [h("p", { class: "label" }, "Older named versions (before the kept steps):"),
          h("div", { class: "row" }, ...outside.map((v) => button(`Show version ${v.name}`, {
            text: `${v.name} · ${new Date(v.createdAt * 1000).toLocaleDateString()}`, title: `seq ${v.seq}`, onClick: () => void previewVersion(app, v) })))] : []));
      };

      const describe = async (seq: number) => {
        const cur = app.preview.current;
        where.textContent = cur === null ? "Live." : cur.kind === "tag" ? `Version “${app.versions.nameOf(cur.tag)}”.` : `${countChanges(range.head - seq)} before live.`;
        where.title = `seq ${seq} of ${range.head}`;
        shownStep = null;
        drawChanges();
        if (seq <= range.oldest) {
          info.textContent = seq === 0 ? "The empty room, before anything happened." : "The first kept step: what happened in it was pruned.";
          return;
        }
        try {
          const step = await range.step(seq);
          if (Number(slider.value) !== seq && app.preview.current !== null) return;
          shownStep = step;
          info.textContent = step ? `${new Date(step.ts * 1000).toLocaleString()}: ${stepWords(step, (u) => app.comments.nameOf(u))}` : "";
          info.dataset.seq = String(seq);
          drawChanges();
        } catch (err) {
          info.textContent = `What happened at this step is not known: ${inWords(err)}`;
        }
      };

      // One request at a time; while one is out, only the newest position is remembered.
      let wanted: number | null = null;
      let fetching: number | null = null;
      let busy = false;
      const go = async (seq: number) => {
        wanted = Math.min(range.head, Math.max(range.oldest, Math.round(seq)));
        slider.value = String(wanted);
        if (busy) return;
        busy = true;
        try {
          while (wanted !== null) {
            const s = wanted;
            wanted = null;
            fetching = s;
            try {
              if (s >= range.head) app.preview.exit();
              else await app.preview.show({ kind: "seq", seq: s }, stepLabel(range, s, (u) => app.comments.nameOf(u)));
            } catch (err) {
              info.textContent = `Cannot show that step: ${inWords(err)}`;
            }
          }
        } finally {
          busy = false;
          fetching = null;
        }
      };
      slider.addEventListener("input", () => void go(Number(slider.value)));
      // At live, say what the newest step was: at most every LIVE_MS, and only while visible.
      let liveTimer: ReturnType<typeof setTimeout> | null = null;
      describeLive = () => {
        if (liveTimer !== null || app.preview.current !== null || app.shell.activePanel !== "history") return;
        liveTimer = setTimeout(() => {
          liveTimer = null;
          if (app.preview.current === null) void describe(range.head);
        }, LIVE_MS);
      };
      range.on("range", () => {
        sync();
        describeLive();
      });
      app.versions.on("change", sync);
      app.preview.on("change", () => {
        sync();
        void describe(position());
      });
      resync = sync;
      sync();
    },
    shown() {
      resync();
      void range.refresh();
      describeLive();
    },
  };
}
