import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyTdxQuote } from "../../../../packages/tee/src/tdx";
import { pccsCollateral } from "../../src/tee/pccs-collateral";

const fixtures = new URL("../../../../packages/tee/test/fixtures/", import.meta.url);
const QUOTE = new Uint8Array(readFileSync(new URL("tdx_quote", fixtures)));
const RECORDED = JSON.parse(readFileSync(new URL("tdx_quote_collateral.json", fixtures), "utf8")) as Record<string, string>;
/** Inside the recorded collateral's validity (2025-06-19..07-19). */
const NOW = Date.UTC(2025, 5, 27) / 1000;

/**
 * A PCCS (Intel's collateral cache, API v4) serving the recorded collateral the way a real one does:
 * DER CRLs, signed JSON bodies, issuer chains URL-encoded in headers. A third party outside the
 * system under test, so a stand-in is fair; what is tested is our fetch, its cache, and that what
 * comes back verifies.
 */
function startPccs(): Promise<{ server: Server; url: string; requests: string[]; failNext: { n: number } }> {
  const requests: string[] = [];
  const failNext = { n: 0 };
  const server = createServer((req, res) => {
    const url = req.url ?? "";
    requests.push(url);
    if (failNext.n > 0) {
      failNext.n--;
      return void res.writeHead(503).end();
    }
    const hex = (h: string) => Buffer.from(h, "hex");
    if (url.startsWith("/sgx/certification/v4/pckcrl")) {
      return void res.writeHead(200, { "SGX-PCK-CRL-Issuer-Chain": encodeURIComponent(RECORDED.pck_crl_issuer_chain!) }).end(hex(RECORDED.pck_crl!));
    }
    if (url.startsWith("/tdx/certification/v4/tcb")) {
      const body = `{"tcbInfo":${RECORDED.tcb_info},"signature":"${RECORDED.tcb_info_signature}"}`;
      return void res.writeHead(200, { "TCB-Info-Issuer-Chain": encodeURIComponent(RECORDED.tcb_info_issuer_chain!) }).end(body);
    }
    if (url.startsWith("/tdx/certification/v4/qe/identity")) {
      const body = `{"enclaveIdentity":${RECORDED.qe_identity},"signature":"${RECORDED.qe_identity_signature}"}`;
      return void res.writeHead(200, { "SGX-Enclave-Identity-Issuer-Chain": encodeURIComponent(RECORDED.qe_identity_issuer_chain!) }).end(body);
    }
    if (url.startsWith("/sgx/certification/v4/rootcacrl")) return void res.writeHead(200).end(RECORDED.root_ca_crl);
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, failNext })));
}

describe("TDX collateral from a PCCS (TEE_PCCS_URL)", () => {
  let pccs: Awaited<ReturnType<typeof startPccs>>;
  beforeAll(async () => {
    pccs = await startPccs();
  });
  afterAll(() => pccs.server.close());

  it("fetches collateral the quote verifies against, and reuses it for the same platform", async () => {
    const fetchCollateral = pccsCollateral(pccs.url);
    const collateral = (await fetchCollateral(QUOTE)) as Record<string, unknown>;
    expect(pccs.requests.some((r) => r.startsWith("/tdx/certification/v4/tcb?fmspc="))).toBe(true);
    expect(collateral.tcb_info).toBe(RECORDED.tcb_info);
    expect(collateral.qe_identity).toBe(RECORDED.qe_identity);
    const q = await verifyTdxQuote(QUOTE, collateral, NOW);
    expect(q.tcbStatus).toBe("UpToDate");
    const fetched = pccs.requests.length;
    await fetchCollateral(QUOTE);
    expect(pccs.requests.length).toBe(fetched);
  });

  it("does not keep a failed fetch: the next call asks again", async () => {
    const fetchCollateral = pccsCollateral(pccs.url);
    pccs.failNext.n = 1;
    await expect(fetchCollateral(QUOTE)).rejects.toThrow(/503/);
    const collateral = await fetchCollateral(QUOTE);
    expect((await verifyTdxQuote(QUOTE, collateral, NOW)).tcbStatus).toBe("UpToDate");
  });
});
