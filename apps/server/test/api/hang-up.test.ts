import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { hangUpSignal } from "../../src/http/hang-up";

/** http/hang-up.ts on a real node:http server: the signal a REST handler passes to a long-poll. */
describe("a REST caller's hang-up as an AbortSignal", () => {
  /** One request to a server whose handler first waits for `before` (what it does before asking for the signal), then asks for it and answers. */
  async function serve(client: (url: string) => Promise<unknown>, before: (res: http.ServerResponse) => Promise<unknown>): Promise<{ aborted: boolean; abortedLater: boolean }> {
    let seen!: (r: { aborted: boolean; abortedLater: boolean }) => void;
    const result = new Promise<{ aborted: boolean; abortedLater: boolean }>((r) => (seen = r));
    const server = http.createServer(async (_req, res) => {
      await before(res);
      const signal = hangUpSignal(res);
      const aborted = signal.aborted;
      res.end("ok");
      await new Promise((r) => setTimeout(r, 50));
      seen({ aborted, abortedLater: signal.aborted });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      await client(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      return await result;
    } finally {
      server.close();
    }
  }

  it("stays unaborted for an answer the client reads", async () => {
    expect(
      await serve(
        (url) => fetch(url).then((r) => r.text()),
        async () => undefined,
      ),
    ).toEqual({ aborted: false, abortedLater: false });
  });

  it("is aborted already when the client went before the handler asked for it", async () => {
    const gone = new AbortController();
    let arrived!: () => void;
    const request = new Promise<void>((r) => (arrived = r));
    const r = serve(
      (url) => {
        void request.then(() => gone.abort());
        return fetch(url, { signal: gone.signal }).catch(() => undefined);
      },
      // The handler is still busy (authenticating, parsing) when the client goes: it asks once the response closed.
      (res) => {
        arrived();
        return new Promise((closed) => res.once("close", closed));
      },
    );
    expect(await r).toMatchObject({ aborted: true });
  });
});
