/**
 * Confidential inference costs (docs/TEE.md, docs/BENCHMARKS.md "Confidential inference"):
 *
 * 1. Evidence verification on real recorded evidence (the TDX quote and a Milan SEV-SNP report of
 *    packages/tee/test/fixtures) and on simulated evidence: what the server pays per registration
 *    and each client per seal.
 * 2. HPKE seal/open of input tensors of 1 KiB, 64 KiB and 1 MiB.
 * 3. End to end on one local network (PGlite, one simulated-TEE native provider with 4 slots, a
 *    tiny MLP): sequential submit → result p50/p99, clear (`none`) against sealed (SDK), and
 *    tasks/s with 8 requests in flight.
 *
 *   npx tsx bench/tee.ts [--tasks 40] [--seconds 5]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { StunClient } from "@stun/sdk";
import { encodeBase64 } from "@stun/shared";
import { generateTeeKeyPair, makeSimulatedReport, openOutputs, openRequest, parsePolicy, reportDataFor, sealOutputs, sealRequest, verifyEvidence } from "@stun/tee";
import { verifySevSnpReport } from "../packages/tee/src/sev-snp";
import { verifyTdxQuote } from "../packages/tee/src/tdx";
import { buildMlp } from "@stun/testkit";
import { startTestNetwork } from "../apps/server/test/support/network";
import { uploadModel } from "../apps/server/test/support/api";
import { percentiles } from "./stats";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "40" }, seconds: { type: "string", default: "5" } } });
const TASKS = Number(values.tasks);
const SECONDS = Number(values.seconds);

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../packages/tee/test/fixtures/${name}`, import.meta.url)));

async function timeIt(label: string, n: number, f: () => Promise<unknown>): Promise<void> {
  await f(); // warm
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  const p = percentiles(ms);
  console.log(`${label.padEnd(44)} p50 ${p.p50.toFixed(2)} ms   p99 ${p.p99.toFixed(2)} ms   (n=${n})`);
}

async function verification(): Promise<void> {
  console.log("## evidence verification (real recorded evidence; one call each)");
  const quote = fixture("tdx_quote");
  const collateral = JSON.parse(readFileSync(new URL("../packages/tee/test/fixtures/tdx_quote_collateral.json", import.meta.url), "utf8"));
  await timeIt("TDX quote (dcap-qvl, v4, with collateral)", 30, () => verifyTdxQuote(quote, collateral, Date.UTC(2025, 5, 27) / 1000));
  const report = fixture("snp-milan-nodebug-report.bin");
  const certs = { vcek: encodeBase64(fixture("snp-milan-nodebug-vcek.der")) };
  await timeIt("SEV-SNP report (VCEK → ASK → ARK, P-384)", 30, () => verifySevSnpReport(report, certs, Date.UTC(2025, 0, 1) / 1000));
  const keys = await generateTeeKeyPair();
  const nonce = "ab".repeat(32);
  const evidence = { kind: "simulated" as const, publicKey: encodeBase64(keys.publicKey), nonce, quote: encodeBase64(await makeSimulatedReport(await reportDataFor(keys.publicKey, nonce))) };
  const dev = parsePolicy({ allowSimulated: true });
  await timeIt("simulated evidence (Ed25519), with binding", 100, () => verifyEvidence(evidence, dev));
}

async function sealing(): Promise<void> {
  console.log("\n## HPKE seal/open (X25519 from WebCrypto, AES-128-GCM)");
  const provider = await generateTeeKeyPair();
  const requester = await generateTeeKeyPair();
  const model = "0".repeat(64);
  for (const kib of [1, 64, 1024]) {
    const inputs = { x: { dtype: "float32" as const, dims: [(kib * 1024) / 4], data: new Uint8Array(kib * 1024) } };
    const box = await sealRequest({ providerPublicKey: provider.publicKey, modelSha256: model, inputs, replyPublicKey: requester.publicKey });
    const opened = await openRequest(provider.privateKey, box, model);
    const out = await sealOutputs(requester.publicKey, inputs, model, opened.inputDigest);
    await timeIt(`seal ${kib} KiB (requester)`, 30, () => sealRequest({ providerPublicKey: provider.publicKey, modelSha256: model, inputs, replyPublicKey: requester.publicKey }));
    await timeIt(`open ${kib} KiB (TEE)`, 30, () => openRequest(provider.privateKey, box, model));
    await timeIt(`open outputs ${kib} KiB (requester)`, 30, () => openOutputs(requester.privateKey, out, model, opened.inputDigest));
  }
}

async function endToEnd(): Promise<void> {
  console.log("\n## end to end: PGlite, one simulated-TEE native provider (4 slots), tiny MLP");
  const net = await startTestNetwork({ env: { LOG_LEVEL: "error" } });
  try {
    const mlp = buildMlp({ inputSize: 8, hidden: [16], outputSize: 4, seed: 2 });
    const modelId = await uploadModel(net.url, net.apiKey, mlp.bytes, "tee-bench");
    await net.addProvider({ name: "tee", args: ["--tee", "simulated", "--slots", "4", "--price", "1"] });
    const client = new StunClient({ baseUrl: net.url, apiKey: net.apiKey });
    const x = new Float32Array(8).fill(0.25);
    const clear = { modelId, inputs: { x: { dtype: "float32" as const, dims: [1, 8], data: x } }, verification: { mode: "none" as const }, maxPrice: "10" };
    const sealed = { ...clear, verification: undefined, requirements: { privacy: "tee" as const }, tee: { policy: { allowSimulated: true } } };
    const one = async (o: typeof clear | typeof sealed) => {
      const t = performance.now();
      const info = await (await client.submitTask(o)).wait({ timeoutMs: 60_000 });
      if (info.status !== "completed" || !info.outputs) throw new Error(`task ${info.id} ${info.status}`);
      return performance.now() - t;
    };
    for (const [label, o] of [
      ["clear (mode none)", clear],
      ["sealed (privacy tee)", sealed],
    ] as const) {
      await one(o);
      const ms: number[] = [];
      for (let i = 0; i < TASKS; i++) ms.push(await one(o));
      const p = percentiles(ms);
      let done = 0;
      const until = performance.now() + SECONDS * 1000;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (performance.now() < until) {
            await one(o);
            done++;
          }
        }),
      );
      console.log(`${label.padEnd(22)} sequential p50 ${p.p50.toFixed(1)} ms  p99 ${p.p99.toFixed(1)} ms   8 in flight: ${(done / SECONDS).toFixed(1)} tasks/s`);
    }
  } finally {
    await net.close();
  }
}

await verification();
await sealing();
await endToEnd();
process.exit(0);
