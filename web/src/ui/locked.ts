/**
 * What the page says about locked annotations: a locked shape ignores style changes, moves
 * and deletes, and a person who tries must be told why nothing happened rather than be left
 * guessing. One sentence per situation, used by the style panel, the delete command and
 * point editing.
 */
import { shortcutFor } from "./keymap";

function unlockHow(one: boolean): string {
  const k = shortcutFor("lock");
  return `unlock ${one ? "it" : "them"} with Unlock under Arrange${k ? ` or ${k}` : ""}`;
}

/** The style panel's note for a selection with `locked` of `total` annotations locked
 * (null when none is locked). */
export function styleLockNote(locked: number, total: number): string | null {
  if (locked === 0) return null;
  if (locked === total) {
    return total === 1
      ? `This annotation is locked: its style cannot change until you ${unlockHow(true)}.`
      : `These annotations are locked: their style cannot change until you ${unlockHow(false)}.`;
  }
  return `${locked} of the ${total} selected annotations are locked: their style will not change.`;
}

/** Why a delete removed nothing, or less than the selection (null: everything went). */
export function deleteLockNote(locked: number, total: number): string | null {
  if (locked === 0) return null;
  if (locked === total) {
    return `Nothing deleted: ${total === 1 ? "the selected annotation is" : "the selected annotations are"} locked. To delete, first ${unlockHow(total === 1)}.`;
  }
  return `${locked} locked ${locked === 1 ? "annotation was" : "annotations were"} not deleted.`;
}

/** Why a locked line, arrow, polygon or stroke does not enter point editing. */
export function pointsLockNote(): string {
  return `This annotation is locked: its points cannot change until you ${unlockHow(true)}.`;
}

/** What a cut did with locked annotations: copied, left in place (null: none was locked). */
export function cutLockNote(locked: number, total: number): string | null {
  if (locked === 0) return null;
  if (locked === total) {
    return `Copied, not cut: ${total === 1 ? "the selected annotation is" : "the selected annotations are"} locked. To cut, first ${unlockHow(total === 1)}.`;
  }
  return `Copied all ${total}; ${locked} locked ${locked === 1 ? "annotation stays" : "annotations stay"} in place (not cut).`;
}
