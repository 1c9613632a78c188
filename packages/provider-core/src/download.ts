/**
 * The one way an agent downloads something the server names by hash (a model file): GET with the
 * API key, only on the server's own origin (server-url.ts), at most `sizeBytes` bytes, checked
 * against its sha256, and abandoned when `signal` aborts (the assignment's lease ended, the
 * connection dropped, the task was cancelled) or after `timeoutMs`.
 */
import { concatBytes, type ProviderErrorCode } from "@stun/shared";
import { ProviderError, errorMessage } from "./errors";
import { currentServer, serverUrl, type ServerRef } from "./server-url";
import { sha256Hex } from "./sha256";

export interface VerifiedDownload {
  /** The server's address; `url` must be on its origin. */
  server: string;
  apiKey: string;
  /** A path on the server or an absolute URL on the server's origin. */
  url: string;
  sha256: string;
  /** The most bytes accepted (more is reported as MODEL_HASH_MISMATCH); absent or 0: no limit. */
  sizeBytes?: number;
  signal?: AbortSignal;
  /** Default 120 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** The code for a URL off the server's origin or a failed request (default MODEL_FETCH_FAILED). */
  code?: ProviderErrorCode;
}

/** The bytes, whole and verified; every failure is a ProviderError. */
export async function downloadVerified(d: VerifiedDownload): Promise<Uint8Array> {
  const code = d.code ?? "MODEL_FETCH_FAILED";
  const url = serverUrl(d.server, d.url, code);
  const timeout = AbortSignal.timeout(d.timeoutMs ?? 120_000);
  const signal = d.signal ? AbortSignal.any([d.signal, timeout]) : timeout;
  const f = d.fetch ?? globalThis.fetch.bind(globalThis);
  let res: Response;
  try {
    // no-store: browsers must not answer from (or fill) the HTTP cache; the agents cache by hash themselves.
    res = await f(url, { headers: { authorization: `Bearer ${d.apiKey}` }, signal, cache: "no-store" } as RequestInit);
  } catch (e) {
    throw new ProviderError(code, `GET ${url} failed: ${errorMessage(signal.reason ?? e)}`, { cause: e });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ProviderError(code, `GET ${url} answered HTTP ${res.status}`);
  }
  const limit = d.sizeBytes && d.sizeBytes > 0 ? d.sizeBytes : Number.POSITIVE_INFINITY;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  try {
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw new ProviderError("MODEL_HASH_MISMATCH", `${d.sha256}: the server sent more than the expected ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    throw new ProviderError(code, `GET ${url} failed while reading: ${errorMessage(signal.aborted ? signal.reason : e)}`, { cause: e });
  }
  const bytes = concatBytes(chunks);
  const digest = await sha256Hex(bytes);
  if (digest !== d.sha256) throw new ProviderError("MODEL_HASH_MISMATCH", `the bytes hash to ${digest}, expected ${d.sha256}; not used`);
  return bytes;
}

/** An agent's connection to its server, as a download needs it. */
export interface DownloadSource {
  /** The server (or how to find the one in use: server-url.ts ServerRef). */
  server: ServerRef;
  apiKey: string;
  fetchTimeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
}

/** A model an assignment names (`{url, sha256, sizeBytes}`), downloaded and verified from the agent's server. */
export function downloadModel(src: DownloadSource, model: { url: string; sha256: string; sizeBytes?: number | undefined }, signal: AbortSignal): Promise<Uint8Array> {
  return downloadVerified({
    server: currentServer(src.server),
    apiKey: src.apiKey,
    url: model.url,
    sha256: model.sha256,
    ...(model.sizeBytes ? { sizeBytes: model.sizeBytes } : {}),
    signal,
    ...(src.fetchTimeoutMs ? { timeoutMs: src.fetchTimeoutMs } : {}),
    ...(src.fetch ? { fetch: src.fetch } : {}),
  });
}
