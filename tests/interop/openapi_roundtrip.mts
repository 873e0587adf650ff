// A frontend's view of the REST side port: plain fetch, typed only by the committed
// openapi-typescript output. tsc type-checks this file before tests/test_generated_clients.py
// runs it, so a result field the document does not declare fails the compile, and a field
// it declares but the daemon does not send fails the checks below.
//
// Usage: node openapi_roundtrip.mjs BASE_URL PNG_FILE
// Prints one JSON line {"jobId"} once the export is queued, waits for one line on stdin
// (the test says when the job is done: it awaits the server's event instead of polling),
// then prints the summary line the test asserts on.
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";

import type { components, paths } from "../../clients/js/src/generated/openapi.js";

type Schemas = components["schemas"];
type Method = "get" | "post" | "put" | "patch" | "delete";
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
/** The JSON an operation answers on success (any 2xx it declares). */
type Ok<O> = O extends { responses: infer R }
  ? { [S in keyof R]: S extends 200 | 201 | 202
      ? R[S] extends { content: { "application/json": infer T } } ? T : never
      : never }[keyof R]
  : never;
/** The JSON body an operation takes. */
type Body<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : undefined;
type PathParams<O> = O extends { parameters: { path: infer A } } ? A : undefined;

const [base, pngFile] = process.argv.slice(2);
const headers = { "X-Annotd-User": "ts-client" };

function url(path: string, params: Record<string, string> | undefined): string {
  return base + path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params?.[name] ?? ""));
}

async function call<P extends keyof paths, M extends Method>(
  method: M, path: P, params: PathParams<Op<P, M>>, body?: Body<Op<P, M>>,
): Promise<Ok<Op<P, M>>> {
  const init: RequestInit = { method: method.toUpperCase(), headers: { ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...headers, "Content-Type": "application/json" };
  }
  const res = await fetch(url(path, params as Record<string, string> | undefined), init);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Ok<Op<P, M>>;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const room: Schemas["RoomInfo"] = await call("post", "/v1/rooms", undefined, { name: "typed from openapi-typescript" });

const png = await readFile(pngFile);
const upload = await fetch(url("/v1/rooms/{roomId}/image", { roomId: room.id }), {
  method: "POST", headers: { ...headers, "Content-Type": "image/png" }, body: png,
});
check(upload.status === 201, `image upload answered ${upload.status}`);
const image = (await upload.json()) as Ok<Op<"/v1/rooms/{roomId}/image", "post">>;

const created = await call("post", "/v1/rooms/{roomId}/annotations", { roomId: room.id },
  { type: "rect", x: 4, y: 5, w: 20, h: 10, style: { stroke: "#1971c2" } });
const id = created.annotation.id;
const updated = await call("put", "/v1/rooms/{roomId}/annotations/{id}", { roomId: room.id, id }, { x: 12 });
const patched = await call("patch", "/v1/rooms/{roomId}/annotations/{id}", { roomId: room.id, id },
  { style: { strokeWidth: 6 } });
check(updated.annotation.x === 12 && updated.seq > created.seq, "the PUT moved the annotation in a new update");
check(patched.annotation.style.strokeWidth === 6 && patched.annotation.style.stroke === "#1971c2",
  "the PATCH changed one style field and kept the others");
const listing = await call("get", "/v1/rooms/{roomId}/annotations", { roomId: room.id });
check(listing.annotations.length === 1 && listing.image?.sha256 === image.sha256, "the listing shows it and the image");

const queued = await call("post", "/v1/rooms/{roomId}/exports", { roomId: room.id }, { format: "png", scale: 0.5 });
console.log(JSON.stringify({ jobId: queued.jobId }));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next();  // the test has seen the job finish
const job = await call("get", "/v1/exports/{jobId}", { jobId: queued.jobId });
const download = await fetch(url("/v1/exports/{jobId}/download", { jobId: queued.jobId }), { headers });
check(download.status === 200, `download answered ${download.status}`);
const file = new Uint8Array(await download.arrayBuffer());
const deleted = await call("delete", "/v1/rooms/{roomId}/annotations/{id}", { roomId: room.id, id });

const summary = {
  roomId: room.id,
  image: { sha256: image.sha256, width: image.width, height: image.height, seq: image.seq },
  created: { id, type: created.annotation.type, x: created.annotation.x, seq: created.seq },
  updated: { x: updated.annotation.x, seq: updated.seq },
  patched: { strokeWidth: patched.annotation.style.strokeWidth, stroke: patched.annotation.style.stroke },
  job: { status: job.status, format: job.format, size: job.size, seq: job.seq },
  download: { contentType: download.headers.get("Content-Type"), bytes: file.length,
              signature: Array.from(file.slice(0, 8)) },
  deleted: { ids: deleted.deleted, seq: deleted.seq },
};
console.log(JSON.stringify(summary));
process.exit(0);
