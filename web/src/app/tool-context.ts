/**
 * The ToolContext a room's tools receive (tools/tool.ts): the model, view and undo they work
 * on, and the few RoomApp decisions they need (the style of new shapes, switching tools,
 * in-place text editing, read-only previews, the hit tolerance). The drawing tools see
 * only this narrow interface, not the whole of RoomApp.
 */
import type { TextEditor } from "../tools/text";
import type { ToolContext } from "../tools/tool";
import type { Shell } from "../ui/shell";

/** What the tools' context is built from: the room's model and view, and its decisions. */
interface ToolHost
  extends Pick<ToolContext, "canvas" | "scene" | "viewport" | "selection" | "undo" | "overlay" | "layout" | "newStyle" | "newArrowheads" | "setTool"> {
  readonly editor: Pick<TextEditor, "start">;
  readonly readOnly: boolean;
  readonly shell: Pick<Shell, "stage">;
}

/** Needs `app`'s model, scene and overlay built; the text editor is looked up when used. */
export function toolContext(app: ToolHost): ToolContext {
  return {
    canvas: app.canvas,
    scene: app.scene,
    viewport: app.viewport,
    selection: app.selection,
    undo: app.undo,
    overlay: app.overlay,
    layout: app.layout,
    newStyle: () => app.newStyle(),
    newArrowheads: (t) => app.newArrowheads(t),
    setTool: (id) => app.setTool(id),
    editText: (id, all) => app.editor.start(id, all),
    readOnly: () => app.readOnly,
    tolerance: () => 6 / app.viewport.scale,
    setCursor: (css) => { app.shell.stage.style.cursor = css; },
  };
}
