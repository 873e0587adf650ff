/**
 * The top bar's edit and view buttons: undo and redo (enabled only when there is something to
 * undo or redo), zoom out / the zoom level (click: 100 %) / zoom in, fit, replace the image,
 * and the shortcuts sheet. Each button runs the same command as its shortcut, so a button
 * and a key can never do different things.
 */
import type { Undo } from "../model/undo";
import type { Viewport } from "../render/viewport";
import { button } from "./dom";
import { showHelp } from "./help";
import { icon } from "./icons";
import { titleFor } from "./keymap";
import type { Shell } from "./shell";

/** The top bar runs commands, shows whether undo/redo can act and the zoom level. */
interface TopBarContext {
  readonly shell: Pick<Shell, "actions" | "end">;
  readonly undo: Pick<Undo, "onChange" | "canUndo" | "canRedo">;
  readonly viewport: Pick<Viewport, "onChange" | "scale">;
  run(command: string): void;
  pickImage(): void;
}

export function topBarButtons(app: TopBarContext): void {
  const undo = button("Undo", { icon: icon("undo"), title: titleFor("undo", "Undo your last change"), onClick: () => app.run("undo") });
  const redo = button("Redo", { icon: icon("redo"), title: titleFor("redo", "Redo"), onClick: () => app.run("redo") });
  const zoomOut = button("Zoom out", { icon: icon("minus"), title: titleFor("zoomOut", "Zoom out"), onClick: () => app.run("zoomOut") });
  const zoomLevel = button("Zoom to 100 %", { text: "100 %", title: titleFor("zoom100", "Zoom to 100 %"), cls: "zoom-level", onClick: () => app.run("zoom100") });
  const zoomIn = button("Zoom in", { icon: icon("plus"), title: titleFor("zoomIn", "Zoom in"), onClick: () => app.run("zoomIn") });
  const fit = button("Fit the image", { icon: icon("fit"), title: titleFor("zoomFit", "Fit the image"), onClick: () => app.run("zoomFit") });
  const image = button("Replace the image", { icon: icon("image"), title: "Upload or replace the base image", onClick: () => app.pickImage() });
  app.shell.actions.append(undo, redo, zoomOut, zoomLevel, zoomIn, fit, image);
  app.shell.end.append(button("Keyboard shortcuts", { icon: icon("help"), title: titleFor("help", "Keyboard shortcuts"), onClick: () => showHelp() }));

  undo.disabled = true;
  redo.disabled = true;
  app.undo.onChange(() => {
    undo.disabled = !app.undo.canUndo();
    redo.disabled = !app.undo.canRedo();
  });
  app.viewport.onChange(() => {
    zoomLevel.textContent = `${Math.round(app.viewport.scale * 100)} %`;
  });
}
