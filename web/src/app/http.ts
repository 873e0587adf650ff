/**
 * The side port over HTTP: client config, REST for the rooms page, image upload. Errors
 * become an ApiError carrying the server's message (in words, never just a status code).
 */
import type { FontMetrics } from "../render/text";

export interface ClientConfig {
  version: string;
  wsPort: number;
  wsPath: string;
  limits: {
    maxImageBytes: number;
    maxImagePixels: number;
    /** The largest PNG/JPEG export the server makes, in output pixels (width × height). */
    maxExportPixels?: number;
    presenceMaxHz: number;
    maxAnnotations: number;
    maxPoints: number;
    maxTextLength: number;
    /** `limits.max_document_bytes`: an update past it closes the socket with 4413. */
    maxDocumentBytes?: number;
  };
  imageTypes: string[];
  fonts: FontMetrics;
  /** Per text family, the CSS families of its face and its fallback faces, in order. */
  fontFamilies?: Record<string, string[]>;
  /** How the server keeps rooms (protocol.md, Web client): what the page may promise. */
  persistence: Persistence;
}

/** `memory`: any restart loses the rooms; `save_on_shutdown`: a clean shutdown saves them, a
 * crash loses what changed since the start; `durable`: every acknowledged update is on disk. */
export type Persistence = "memory" | "save_on_shutdown" | "durable";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const STATUS_WORDS: Record<number, string> = {
  400: "the request was not understood",
  404: "not found",
  409: "that conflicts with the current state",
  413: "the file is too large",
  415: "that file type is not accepted",
  422: "the server could not use that input",
  429: "the server is busy; try again shortly",
  500: "the server hit an internal error",
};

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError("cannot reach the annotd server (is it running?)", 0, "network");
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body as { error?: { message?: string; code?: string } } | null)?.error;
    throw new ApiError(err?.message ?? STATUS_WORDS[res.status] ?? `request failed (${res.status})`, res.status, err?.code ?? "http_error");
  }
  return body as T;
}

export function loadConfig(): Promise<ClientConfig> {
  return api<ClientConfig>("/v1/client-config");
}

export function wsBase(cfg: ClientConfig): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.hostname}:${cfg.wsPort}`;
}

export interface RoomSummary {
  id: string;
  name: string;
  createdAt: number;
  headSeq: number;
  users: string[];
  clients: number;
  image: { sha256: string; width: number; height: number; mime: string } | null;
  /** Seconds since the epoch (like createdAt). */
  lastChangeAt: number;
}

const EXT_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp" };

/** Some systems give files no type: go by the extension (the server checks the bytes anyway). */
export function typeFromName(name: string): string {
  const ext = name.toLowerCase().split(".").pop() ?? "";
  return EXT_TYPES[ext] ?? "application/octet-stream";
}

/** Upload a base image; the server validates it and answers with words on failure. */
export function uploadImage(roomId: string, file: File, userId: string): Promise<{ sha256: string; width: number; height: number }> {
  const type = file.type || typeFromName(file.name);
  return api(`/v1/rooms/${encodeURIComponent(roomId)}/image`, {
    method: "POST",
    headers: { "Content-Type": type, "X-Annotd-User": userId },
    body: file,
  });
}

/** Upload image bytes held by the page (a lost room's image, from the page's copy). */
export function uploadImageBytes(roomId: string, bytes: Blob, mime: string, userId: string): Promise<{ sha256: string }> {
  return api(`/v1/rooms/${encodeURIComponent(roomId)}/image`, {
    method: "POST",
    headers: { "Content-Type": mime, "X-Annotd-User": userId },
    body: bytes,
  });
}

/** Create a room with a chosen id (`conflict` when the id is taken). */
export function createRoom(id: string, name: string, userId: string): Promise<RoomSummary> {
  return api("/v1/rooms", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Annotd-User": userId },
    body: JSON.stringify({ id, name }),
  });
}

export function imageUrl(roomId: string, sha256: string): string {
  return `/v1/rooms/${encodeURIComponent(roomId)}/image?sha256=${sha256}`;
}
