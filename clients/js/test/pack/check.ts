// Type-checked (not run) in the consumer project by tests/client/test_client_pack.py: the packed
// .d.ts files resolve for a NodeNext project and the generated command table types calls.
import { CLOSE, RoomSocket, type CommandParams, type RoomParams } from "@annotd/client";
import * as Y from "yjs";

const socket = new RoomSocket({ url: "ws://localhost:8765", roomId: "r", userId: "u", doc: new Y.Doc() });
const params: RoomParams<"annotations.upsert"> = { annotation: { type: "rect" } };
const full: CommandParams["comments.reply"] = { roomId: "r", commentId: "t", body: "hi" };
export const calls = [socket.call("annotations.upsert", params), full, CLOSE.DOCUMENT_TOO_LARGE === 4413];
// @ts-expect-error: a misspelt parameter of a known command is refused
export const bad: RoomParams<"annotations.upsert"> = { annotatoin: {} };
