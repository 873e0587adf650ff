/**
 * Before and after uploading a base image, in words for people: the page checks the type and
 * the size the server reports it accepts (`imageTypes`, `limits.maxImageBytes` in
 * /v1/client-config) before sending anything, so nobody waits for 60 MB to travel only to be
 * refused; whatever the server still refuses (too many pixels, a damaged file) is said in the
 * same terms, naming the file and what to do, never a header or a byte count.
 */
import { ApiError, typeFromName, type ClientConfig } from "./http";

/** What the checks read of the server's client config. */
type UploadLimits = Pick<ClientConfig, "imageTypes" | "limits">;

const TYPE_NAMES: Record<string, string> = { "image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP" };

function kinds(config: UploadLimits): string {
  const order = Object.keys(TYPE_NAMES);
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
  const names = [...config.imageTypes].sort((a, b) => rank(a) - rank(b)).map((t) => TYPE_NAMES[t] ?? t);
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names.join("");
}

/** "20 MB", "1.5 MB", "300 kB". */
function bytesInWords(n: number): string {
  if (n >= 1_000_000) return `${Number((n / 1_000_000).toFixed(1))} MB`;
  return `${Math.max(1, Math.round(n / 1000))} kB`;
}

function wrongType(file: File, config: UploadLimits): string {
  return `“${file.name}” is not a ${kinds(config)} image, the kinds this server accepts. Save it as one of those and try again.`;
}

function tooBig(file: File, config: UploadLimits): string {
  return `“${file.name}” is ${bytesInWords(file.size)}; this server takes images of up to ${bytesInWords(config.limits.maxImageBytes)}. Save a smaller version (fewer pixels, or as JPEG) and try again.`;
}

/** Why `file` cannot be the base image, before uploading it; null when it may be sent. */
export function uploadProblem(file: File, config: UploadLimits): string | null {
  const type = file.type || typeFromName(file.name);
  if (!config.imageTypes.includes(type)) return wrongType(file, config);
  if (file.size > config.limits.maxImageBytes) return tooBig(file, config);
  return null;
}

/** The server's refusal of `file` in words. */
export function uploadErrorInWords(err: unknown, file: File, config: UploadLimits): string {
  if (!(err instanceof ApiError)) return `“${file.name}” was not uploaded: ${err instanceof Error ? err.message : String(err)}.`;
  if (err.status === 413) return tooBig(file, config);
  if (err.status === 415) return wrongType(file, config);
  if (err.status === 0) return `“${file.name}” was not uploaded: the server cannot be reached. Try again once the connection is back.`;
  if (/too many pixels|pixels; the limit/.test(err.message)) {
    const max = config.limits.maxImagePixels;
    return `“${file.name}” has too many pixels: this server takes images of up to ${(max / 1_000_000).toLocaleString("en")} million pixels. Save a smaller version and try again.`;
  }
  if (err.status === 422 || err.status === 400) return `“${file.name}” could not be read as an image (it may be damaged). Try saving it again.`;
  return `“${file.name}” was not uploaded: ${err.message}.`;
}
