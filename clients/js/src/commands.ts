/**
 * Typing JSON-RPC calls on a room socket from the generated command table: the socket fills
 * `roomId` for the commands that take one, so it is optional there.
 */
import type { CommandParams, CommandResults, Method } from "./generated/commands.js";

/** The params of `M` as a room socket takes them. */
export type RoomParams<M extends Method> = "roomId" extends keyof CommandParams[M]
  ? Omit<CommandParams[M], "roomId"> & { roomId?: string }
  : CommandParams[M];

/** The result of `M`, as precisely as the server's registry declares it. */
export type RoomResult<M extends Method> = CommandResults[M];
