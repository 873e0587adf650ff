/**
 * Versions panel: save the canvas as a named version, list the versions (newest first:
 * name, author, time; the seq only in a tooltip), preview any of them read-only, restore one (after a
 * confirmation that says how many annotations it adds, removes and changes) or export it.
 * Live from `versions.created` / `versions.reverted`; refetched after every reconnect.
 */
import { MAX_VERSION_NAME_LENGTH } from "@annotd/client";
import { inWords } from "../../app/errors";
import type { Comments } from "../../app/comments";
import type { Preview } from "../../app/preview";
import { nameProblem, type Version, type Versions } from "../../app/versions";
import { modal } from "../dialog";
import { button, h, keepingFocus, tickTimes, timeEl } from "../dom";
import { openExport, type ExportDialogContext } from "../export-dialog";
import type { Panel, Shell } from "../shell";
import { toast } from "../toast";

/** Previewing and restoring a version: the versions and the preview they are shown in. */
export interface VersionActionsContext {
  readonly versions: Versions;
  readonly preview: Preview;
}

/** The panel lists the versions with their authors' names, saves, restores and exports. */
interface VersionsPanelContext extends VersionActionsContext, ExportDialogContext {
  readonly comments: Pick<Comments, "nameOf">;
  readonly shell: Pick<Shell, "setBadge">;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Ask, with what will change in words, then restore `tag` for everyone. */
async function confirmRevert(app: VersionActionsContext, tag: string): Promise<void> {
  const name = app.versions.nameOf(tag);
  let summary;
  try {
    summary = await app.versions.summary(tag);
  } catch (err) {
    toast(`Cannot restore “${name}”: ${inWords(err)}`, "error");
    return;
  }
  const { added, removed, changed } = summary;
  const what = added + removed + changed === 0
    ? "The canvas already looks like this version: restoring changes no annotation."
    : `Restoring adds ${plural(added, "annotation")}, removes ${removed} and changes ${changed}.`;
  const ok = button(`Restore version ${name}`, { text: "Restore", cls: "danger" });
  const cancel = button("Cancel", {});
  const error = h("p", { class: "error", role: "alert" });
  const d = modal(`Restore version “${name}”?`, [
    h("p", { class: "revert-summary", "data-added": added, "data-removed": removed, "data-changed": changed }, what),
    h("p", {}, "Everyone in the room sees the restored canvas at once. Comments stay as they are; your undo history is cleared. Nothing is lost: the current state stays in the history."),
    error,
  ], [cancel, ok], "revert");
  cancel.addEventListener("click", () => d.close());
  cancel.focus();
  ok.addEventListener("click", async () => {
    ok.disabled = true;
    try {
      await app.versions.revert(tag);
      d.close();
      app.preview.exit();
    } catch (err) {
      error.textContent = `Not restored: ${inWords(err)}`;
      ok.disabled = false;
    }
  });
}

/** "Version “Review 1”, saved 2 hours ago" (the date on hover, the tag and seq for developers). */
function versionLabel(v: Version): HTMLElement {
  return h("span", { title: `tag ${v.tag}, seq ${v.seq}` }, `Viewing version “${v.name}”, saved `,
    timeEl(v.createdAt * 1000));
}

/** Preview `tag` read-only, with restore and export in the bar. */
export async function previewVersion(app: VersionActionsContext, v: Version): Promise<void> {
  try {
    await app.preview.show({ kind: "tag", tag: v.tag, seq: v.seq }, versionLabel(v), [
      button(`Restore version ${v.name}`, { text: "Restore…", onClick: () => void confirmRevert(app, v.tag) }),
    ]);
  } catch (err) {
    toast(`Cannot show “${v.name}”: ${inWords(err)}`, "error");
  }
}

export function versionsPanel(app: VersionsPanelContext): Panel {
  return {
    id: "versions",
    title: "Versions",
    order: 40,
    mount(body) {
      const input = h("input", { type: "text", id: "version-tag", maxlength: MAX_VERSION_NAME_LENGTH, autocomplete: "off", placeholder: "e.g. Review 1", "aria-describedby": "version-error" });
      const error = h("p", { class: "error", id: "version-error", role: "alert" });
      const save = h("button", { type: "submit", class: "primary" }, "Save version");
      const form = h("form", { class: "version-form", "aria-label": "Save a named version" },
        h("label", { for: "version-tag" }, "Name the canvas as it is now"), h("div", { class: "row" }, input, save), error);
      const list = h("ol", { class: "versions", "aria-label": "Named versions, newest first" });
      const empty = h("p", { class: "empty" }, "No named versions yet. Save one before a big change: you can look back at it or restore it any time.");
      body.append(form, list, empty);
      input.addEventListener("input", () => { error.textContent = ""; });
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const name = input.value.trim();
        const problem = nameProblem(name);
        if (problem) {
          error.textContent = problem;
          input.focus();
          return;
        }
        save.disabled = true;
        try {
          const v = await app.versions.create(name);
          input.value = "";
          toast(`Saved version “${v.name}”.`);
        } catch (err) {
          error.textContent = `Not saved: ${inWords(err, { tag: "name", name: "name" })}`;
          input.focus();
        } finally {
          save.disabled = false;
        }
      });

      const refresh = () => {
        const current = app.preview.current;
        const names = new Map<string, number>();
        for (const v of app.versions.list) names.set(v.name, (names.get(v.name) ?? 0) + 1);
        const items = [...app.versions.list].reverse().map((v) => {
          // names may repeat ("Review" twice); the buttons' labels must still tell them apart
          const label = (names.get(v.name) ?? 0) > 1 && v.tag !== v.name ? `${v.name} (${v.tag})` : v.name;
          const previewing = current?.kind === "tag" && current.tag === v.tag;
          const who = app.comments.nameOf(v.createdBy);
          return h("li", { class: previewing ? "version previewing" : "version", "data-key": v.tag, "data-tag": v.tag, "data-seq": v.seq },
            h("div", { class: "version-name" }, h("strong", {}, v.name), previewing ? h("span", { class: "tag-now" }, " (shown)") : null),
            h("p", { class: "meta", title: `tag ${v.tag}, seq ${v.seq}` }, `${who} · `, timeEl(v.createdAt * 1000)),
            h("div", { class: "row" },
              button(previewing ? `Back to live from ${label}` : `Preview version ${label}`, {
                text: previewing ? "Back to live" : "Preview", pressed: previewing,
                onClick: () => (previewing ? app.preview.exit() : void previewVersion(app, v)),
              }),
              button(`Restore version ${label}`, { text: "Restore…", onClick: () => void confirmRevert(app, v.tag) }),
              button(`Export version ${label}`, { text: "Export…", onClick: () => openExport(app, { tag: v.tag }) })));
        });
        keepingFocus(list, () => list.replaceChildren(...items));
        empty.hidden = items.length > 0;
        app.shell.setBadge("versions", items.length ? String(items.length) : null);
      };
      app.versions.on("change", refresh);
      app.preview.on("change", refresh);
      setInterval(() => tickTimes(list), 30_000);
      refresh();
    },
  };
}
