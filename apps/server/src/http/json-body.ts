/**
 * The JSON request body reader: a per-request size limit (checked against Content-Length before a
 * byte is read, and while reading) and a nesting-depth limit checked on the bytes as they arrive,
 * so a body of 16 MiB of `[` is refused after its first `maxDepth + 1` bytes instead of being
 * buffered and handed to JSON.parse (docs/SECURITY.md, "denial of service").
 */
import type { FastifyRequest } from "fastify";
import { StunError } from "@stun/shared";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Tracks the bracket depth of a JSON text fed in chunks (strings and their escapes skipped; UTF-8
 * continuation bytes never equal an ASCII delimiter, so bytes are safe to scan). `push` answers
 * false once the depth exceeds the limit. Inside a string it jumps to the next quote with
 * `indexOf`, so base64 tensors cost native speed, not a JS loop per byte.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  constructor(private readonly maxDepth: number) {}

  push(chunk: Uint8Array): boolean {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    while (i < buf.length) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        const q = buf.indexOf(QUOTE, i);
        const b = buf.indexOf(BACKSLASH, i);
        if (b !== -1 && (q === -1 || b < q)) {
          this.escaped = true;
          i = b + 1;
        } else if (q !== -1) {
          this.inString = false;
          i = q + 1;
        } else {
          return true; // the string goes on in the next chunk
        }
        continue;
      }
      const c = buf[i]!;
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (++this.depth > this.maxDepth) return false;
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) this.depth--;
      i++;
    }
    return true;
  }
}

export const tooLarge = (limit: number): StunError => new StunError("PAYLOAD_TOO_LARGE", `the request body is larger than this route's limit of ${limit} bytes`, { limit });
export const tooDeep = (maxDepth: number): StunError => new StunError("BODY_TOO_DEEP", `the JSON body nests deeper than ${maxDepth} levels`, { maxDepth });

export interface JsonBodyOptions {
  /** The most bytes this request's body may have. */
  limitFor(req: FastifyRequest): number;
  maxDepth: number;
  /** `text`: hand the checked text on unparsed (tRPC parses it itself); `json`: JSON.parse it. */
  output: "json" | "text";
}

type Done = (err: Error | null, body?: unknown) => void;

/**
 * A body read to its end that is not JSON (or empty). The parser hands it on as the body instead of
 * failing, because Fastify closes the connection on any parser error (the client may still be
 * sending): this request's bytes are all in, so its 400 (`refuseUnparsableBodies`) keeps the
 * connection alive, and a client with one bad body does not pay a new connection for its next
 * request — nor does a flood of them cost the server a TCP accept each.
 */
export class UnparsableBody {
  constructor(readonly error: StunError) {}
}

/** Answers an `UnparsableBody` with its error before the route's validation (a preValidation hook). */
export async function refuseUnparsableBodies(req: FastifyRequest): Promise<void> {
  if (req.body instanceof UnparsableBody) throw req.body.error;
}

/**
 * A Fastify content-type parser for application/json with the limits above. It reads the raw
 * stream itself; on a refusal it stops reading at once (the error reply closes the connection:
 * http/early-close.ts).
 */
export function jsonBodyParser(opts: JsonBodyOptions) {
  return (req: FastifyRequest, payload: NodeJS.ReadableStream, done: Done): void => {
    const limit = opts.limitFor(req);
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) return done(tooLarge(limit));
    const scanner = new JsonDepthScanner(opts.maxDepth);
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const finish = (err: Error | null, body?: unknown) => {
      if (finished) return;
      finished = true;
      payload.removeListener("data", onData);
      payload.removeListener("end", onEnd);
      payload.removeListener("error", onError);
      if (err) payload.pause();
      done(err, body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(tooLarge(limit));
      if (!scanner.push(chunk)) return finish(tooDeep(opts.maxDepth));
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks, size).toString("utf8");
      // tRPC reads an empty body as "no input" (a mutation without one).
      if (opts.output === "text") return finish(null, text);
      if (text.trim() === "") return finish(null, new UnparsableBody(new StunError("INVALID_JSON", "the request body is empty; send a JSON value or no Content-Type")));
      try {
        // Prototype poisoning: `__proto__` keys are dropped (Fastify's own parser refuses them);
        // the reviver runs only when the text has one, so ordinary bodies parse at native speed.
        finish(null, text.includes('"__proto__"') ? JSON.parse(text, dropProtoKeys) : JSON.parse(text));
      } catch {
        finish(null, new UnparsableBody(new StunError("INVALID_JSON", "the request body is not valid JSON")));
      }
    };
    const onError = (e: Error) => finish(e);
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
  };
}

const dropProtoKeys = (key: string, value: unknown): unknown => (key === "__proto__" ? undefined : value);
