/**
 * An export from the browser: queue the job (`exports.create` on the room socket, so the
 * server validates every option first and answers in words), follow it (the
 * `exports.finished` / `exports.failed` notification, plus a slow `exports.get` poll that
 * also covers a notification lost to a reconnect: it goes to the socket that asked), then
 * download the file over the side port with the server's file name.
 */
import { isObject } from "@annotd/client";
import type { RoomApp } from "./room";

export type ExportFormat = "png" | "jpg" | "svg";

export interface ExportRequest {
  format: ExportFormat;
  scale?: number;
  dpi?: number;
  background: string;
  includeComments: boolean;
  commentStates?: ("open" | "resolved")[];
  quality?: number;
  seq?: number;
  tag?: string;
}

export interface ExportJob {
  jobId: string;
  status: "queued" | "running" | "done" | "failed" | "evicted";
  seq: number;
  tag?: string | null;
  fileName?: string;
  size?: number | null;
  error?: string | null;
  renderMs?: number | null;
}

const POLL_MS = 500;

export function downloadUrl(jobId: string): string {
  return `/v1/exports/${encodeURIComponent(jobId)}/download`;
}

/** Start the browser's download of a finished job (the server names the file). */
export function download(job: ExportJob): void {
  const a = document.createElement("a");
  a.href = downloadUrl(job.jobId);
  a.download = job.fileName ?? "";
  a.rel = "noopener";
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

function readJob(v: unknown): ExportJob | null {
  return isObject(v) && typeof v.jobId === "string" && typeof v.status === "string" ? (v as unknown as ExportJob) : null;
}

/**
 * Run one export to its end: `onStatus` hears every state change; resolves with the final
 * job (done, failed or evicted); rejects with the server's error when it refuses the request.
 */
export async function runExport(app: RoomApp, req: ExportRequest, onStatus: (job: ExportJob) => void): Promise<ExportJob> {
  const params: Record<string, unknown> = { ...req };
  for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
  const created = readJob(await app.socket.call("exports.create", params));
  if (created === null) throw new Error("the server's answer was not an export job");
  let job: ExportJob = created;
  onStatus(job);
  return new Promise<ExportJob>((resolve) => {
    let finished = false;
    const finish = (j: ExportJob) => {
      if (finished) return;
      finished = true;
      off();
      clearInterval(timer);
      resolve(j);
    };
    const update = (j: ExportJob) => {
      if (j.jobId !== job.jobId || finished) return;
      if (j.status !== job.status) onStatus(j);
      job = j;
      if (j.status === "done" || j.status === "failed" || j.status === "evicted") finish(j);
    };
    const off = app.socket.on("notification", ({ method, params: p }) => {
      if (method === "exports.finished" || method === "exports.failed") {
        const j = readJob(p);
        if (j) update(j);
      }
    });
    const timer = setInterval(() => {
      if (!app.socket.connected) return;
      app.socket.call("exports.get", { jobId: job.jobId }).then((j) => {
        const got = readJob(j);
        if (got) update(got);
      }, () => { /* offline or slow: the next tick asks again */ });
    }, POLL_MS);
  });
}
