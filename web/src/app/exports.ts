/**
 * An export from the browser: queue the job (`exports.create` on the room socket, so the
 * server validates every option first and answers in words), follow it (the
 * `exports.finished` / `exports.failed` notification, plus a slow `exports.get` poll that
 * also covers a notification lost to a reconnect: it goes to the socket that asked), then
 * download the file over the side port with the server's file name.
 */
import { isObject, type RoomResult, type RoomSocket } from "@annotd/client";

/** An export needs only the room socket: the job is queued and followed on it. */
export interface ExportContext {
  readonly socket: Pick<RoomSocket, "call" | "on" | "connected">;
}

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

function downloadUrl(jobId: string): string {
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

/** What an export would be: its size, the server's limit, its badges' legend. */
export type ExportPlan = RoomResult<"exports.plan">;

function params(req: ExportRequest): Record<string, unknown> {
  const out: Record<string, unknown> = { ...req };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** Ask the server what `req` would make (`exports.plan`: its own size rule and badge
 * numbering), without queueing anything. */
export async function planExport(app: ExportContext, req: ExportRequest): Promise<ExportPlan> {
  return (await app.socket.call("exports.plan", params(req))) as ExportPlan;
}

function readJob(v: unknown): ExportJob | null {
  return isObject(v) && typeof v.jobId === "string" && typeof v.status === "string" ? (v as unknown as ExportJob) : null;
}

/**
 * Run one export to its end: `onStatus` hears every state change; resolves with the final
 * job (done, failed or evicted); rejects with the server's error when it refuses the request.
 */
export async function runExport(app: ExportContext, req: ExportRequest, onStatus: (job: ExportJob) => void): Promise<ExportJob> {
  const created = readJob(await app.socket.call("exports.create", params(req)));
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
