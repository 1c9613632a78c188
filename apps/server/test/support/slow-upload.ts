import http from "node:http";

export interface EarlyAnswer {
  status: number;
  body: any;
  /** Bytes of the body written when the answer's headers arrived. */
  sentBytes: number;
  /** Whether the whole body had been written by then. */
  bodyFinished: boolean;
}

/**
 * Posts a large body the way an attacker (or a slow client) does: `chunk` repeated up to `total`
 * bytes, written as the socket drains, with a Content-Length (`declare`) or chunked. Resolves with
 * the server's answer as soon as it arrives — possibly long before the body is written — and then
 * stops writing. Errors on the request after the answer (the server closing the connection) are
 * expected and ignored.
 */
export function postSlowly(baseUrl: string, path: string, opts: { chunk: Buffer; total: number; declare?: boolean; headers?: Record<string, string> }): Promise<EarlyAnswer> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(opts.declare ? { "content-length": String(opts.total) } : {}), ...opts.headers },
    });
    req.on("response", (res) => {
      answered = true;
      const sentBytes = sent;
      const bodyFinished = req.writableFinished;
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body, sentBytes, bodyFinished });
        req.destroy();
      });
      res.on("error", reject);
    });
    req.on("error", (e) => {
      if (!answered) reject(e);
    });
    const write = () => {
      while (!answered && sent < opts.total) {
        const piece = opts.chunk.subarray(0, Math.min(opts.chunk.length, opts.total - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once("drain", write);
      }
      if (!answered) req.end();
    };
    write();
  });
}
