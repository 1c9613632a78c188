import type { TensorJson, WireTensor } from "@stun/shared";

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

/** A plain REST call, as a third-party client would make it. */
export async function api<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { key?: string; json?: unknown; bytes?: Uint8Array; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (opts.json !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof opts.json === "string" ? opts.json : JSON.stringify(opts.json);
  } else if (opts.bytes) {
    headers["content-type"] ??= "application/octet-stream";
    body = new Uint8Array(opts.bytes); // an ArrayBuffer-backed copy: fetch's body type (DOM lib too) takes no shared buffers
  }
  const res = await fetch(`${baseUrl}/api/v1${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (e.g. a model file)
  }
  return { status: res.status, body: parsed as T };
}

/** A wire tensor as REST JSON: base64 of its raw bytes, or its strings. */
export function toJsonTensor(t: WireTensor): TensorJson {
  return {
    dtype: t.dtype,
    dims: t.dims,
    data: Array.isArray(t.data) ? t.data : Buffer.from(t.data as Uint8Array).toString("base64"),
  };
}

/** The raw bytes of a REST JSON tensor. */
export const jsonTensorBytes = (t: TensorJson): Buffer => Buffer.from(t.data as string, "base64");

export function float32Of(t: TensorJson): Float32Array {
  const b = jsonTensorBytes(t);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Uploads a model and returns its id. */
export async function uploadModel(baseUrl: string, key: string, bytes: Uint8Array, name?: string): Promise<string> {
  const res = await api(baseUrl, "POST", `/models${name ? `?name=${encodeURIComponent(name)}` : ""}`, { key, bytes });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** Submits a task and long-polls it to a terminal status. */
export async function runTask(baseUrl: string, key: string, submit: Record<string, unknown>, waitSeconds = 30): Promise<any> {
  const sub = await api(baseUrl, "POST", "/tasks", { key, json: submit });
  if (sub.status !== 202) throw new Error(`submit failed: ${sub.status} ${JSON.stringify(sub.body)}`);
  return waitTask(baseUrl, key, sub.body.id, waitSeconds);
}

export async function waitTask(baseUrl: string, key: string, id: string, waitSeconds = 30): Promise<any> {
  const until = Date.now() + waitSeconds * 1000;
  for (;;) {
    const left = Math.max(1, Math.min(60, Math.ceil((until - Date.now()) / 1000)));
    const res = await api(baseUrl, "GET", `/tasks/${id}?wait=${left}`, { key });
    if (res.status !== 200) throw new Error(`get failed: ${res.status} ${JSON.stringify(res.body)}`);
    if (["completed", "failed", "expired"].includes(res.body.status) || Date.now() >= until) return res.body;
  }
}

/**
 * Waits until the model's zk circuit is built (GET /models/:id/zk, which also starts the build)
 * and returns its status; throws when the build failed.
 */
export async function waitZkReady(baseUrl: string, key: string, modelId: string, ms = 240_000): Promise<any> {
  const until = Date.now() + ms;
  for (;;) {
    const res = await api(baseUrl, "GET", `/models/${modelId}/zk`, { key });
    if (res.body.status === "failed" || res.body.status === "unsupported") throw new Error(`zk circuit of ${modelId}: ${res.body.status}: ${res.body.message}`);
    if (res.body.status === "ready") return res.body;
    if (Date.now() > until) throw new Error(`timed out waiting for the zk circuit of ${modelId}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
