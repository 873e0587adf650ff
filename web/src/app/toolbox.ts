/**
 * The tools of a room page: which exist, their toolbar buttons, and which one is active.
 * Switching here is mechanical (cancel the old tool's gesture, activate the new one, cursor,
 * pressed button, `data-tool` on the stage); whether a switch is allowed (read-only previews
 * allow only select and hand) is RoomApp.setTool's decision, so every button goes through it.
 */
import { BoxTool, FreehandTool, LineTool, PolygonTool } from "../tools/draw";
import { SelectTool } from "../tools/select";
import { TextTool } from "../tools/text";
import type { Tool, ToolContext, ToolId } from "../tools/tool";
import { button } from "../ui/dom";
import { icon } from "../ui/icons";
import { titleFor } from "../ui/keymap";

/** Pans on drag: input.ts treats the hand tool's pointer like space-drag, so it does nothing itself. */
class HandTool implements Tool {
  readonly id = "hand" as const;
  readonly cursor = "grab";
  down(): void {}
  move(): void {}
  up(): void {}
}

/** The built-in tools in toolbar order, each with its button label (the icon has its id). */
export function builtinTools(ctx: ToolContext): { tool: Tool; label: string }[] {
  return [
    { tool: new SelectTool(ctx), label: "Select" },
    { tool: new HandTool(), label: "Hand (pan)" },
    { tool: new BoxTool(ctx, "rect"), label: "Rectangle" },
    { tool: new BoxTool(ctx, "ellipse"), label: "Ellipse" },
    { tool: new LineTool(ctx, "line"), label: "Line" },
    { tool: new LineTool(ctx, "arrow"), label: "Arrow" },
    { tool: new PolygonTool(ctx), label: "Polygon" },
    { tool: new FreehandTool(ctx), label: "Freehand" },
    { tool: new TextTool(ctx), label: "Text" },
  ];
}

export class Toolbox {
  /** The active tool's id. */
  current: ToolId = "select";
  private tools = new Map<ToolId, Tool>();
  private buttons = new Map<ToolId, HTMLButtonElement>();

  /** `bar` holds the buttons; `pick` is what a button click asks for (RoomApp.setTool). */
  constructor(
    private bar: HTMLElement,
    private stage: HTMLElement,
    private pick: (id: ToolId) => void,
  ) {}

  /** Register a tool and append its toolbar button. */
  add(tool: Tool, label: string, iconName: string): void {
    this.tools.set(tool.id, tool);
    const b = button(label, { icon: icon(iconName), title: titleFor(`tool.${tool.id}`, label), cls: "tool", pressed: this.current === tool.id, onClick: (e) => {
      this.pick(tool.id);
      // chosen from the keyboard (Enter or Space on the button): the keys that use a tool
      // (Enter places a shape, arrows move it) belong to the canvas, so focus goes there
      if (e.detail === 0 && this.current === tool.id) this.stage.focus({ preventScroll: true });
    } });
    b.dataset.tool = tool.id;
    b.dataset.title = b.title;
    this.buttons.set(tool.id, b);
    this.bar.appendChild(b);
  }

  /** Make `id` the active tool (a different tool's gesture in progress is cancelled). */
  switchTo(id: ToolId): void {
    const cur = this.tools.get(this.current);
    if (this.current !== id) {
      cur?.cancel?.();
      cur?.deactivate?.();
    }
    this.current = id;
    const t = this.tools.get(id)!;
    t.activate?.();
    this.stage.style.cursor = t.cursor;
    for (const [tid, b] of this.buttons) b.setAttribute("aria-pressed", String(tid === id));
    this.stage.dataset.tool = id;
  }

  /**
   * While the canvas is read-only, the tools that would write show as unavailable
   * (`aria-disabled`, still focusable so the reason can be read) with `reason` as their
   * tooltip; null gives every tool back its own tooltip.
   */
  lock(reason: string | null, allowed: readonly ToolId[]): void {
    for (const [id, b] of this.buttons) {
      const off = reason !== null && !allowed.includes(id);
      if (off) b.setAttribute("aria-disabled", "true");
      else b.removeAttribute("aria-disabled");
      b.title = off ? `${b.getAttribute("aria-label") ?? id}: ${reason}` : (b.dataset.title ?? b.title);
    }
  }

  active(): Tool {
    return this.tools.get(this.current)!;
  }
}
