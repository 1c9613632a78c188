/**
 * GET /api/v1/quote and the maxPrice of a submit that names none (docs/PRICING.md). The market's
 * state comes from one cheap read — recent accepted executions and the queue's depth — off the
 * per-task path: the quote reads it fresh, a submit without maxPrice reuses a copy at most
 * MARKET_TTL_MS old. The arithmetic is pricing/'s, pure.
 */
import { priceFor, type Quote, type QuoteRequest, type SubmitTask, type VerificationMode } from "@stun/shared";
import type { AppContext } from "../context";
import type { ModelRow } from "../models/row";
import { getModelRow } from "../models/cache";
import { medianOf } from "../pricing/median";
import { PriceIndex, type IndexPoint } from "../pricing/price-index";
import { quote, type PriceQuote } from "../pricing/quote";
import { modelClassOf, unitsOf } from "../pricing/units";

/** Accepted executions the index is rebuilt from (most recent first). */
export const MARKET_SAMPLE = 512;
/** How old a submit's copy of the market may be. */
export const MARKET_TTL_MS = 5_000;

interface Market {
  index: PriceIndex;
  queued: number;
  /** Median run time of the sampled executions, ms. */
  runMs: number;
  at: number;
}

async function readMarket(app: AppContext): Promise<Market> {
  const [rows, queue] = await Promise.all([
    app.db.prisma.$queryRaw<Array<{ backend: string; price: bigint; sizeBytes: number; ms: number | null }>>`
      SELECT a.backend, a.price - COALESCE((t.verification->'zk'->>'fee')::bigint, 0) AS price, m."sizeBytes" AS "sizeBytes",
             EXTRACT(EPOCH FROM (a."completedAt" - a."createdAt")) * 1000 AS ms
      FROM "Assignment" a JOIN "Task" t ON t.id = a."taskId" JOIN "Model" m ON m.id = t."modelId"
      WHERE a.verdict = 'accepted' AND a."completedAt" IS NOT NULL AND t.kind <> 'canary'
      -- Assignment (verdict, completedAt DESC): an index scan from the newest, not a sort of every execution.
      ORDER BY a."completedAt" DESC
      LIMIT ${MARKET_SAMPLE}`,
    app.db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM "Task" WHERE status = 'queued'`,
  ]);
  const index = new PriceIndex();
  for (const r of rows.reverse()) index.record({ backend: r.backend, units: unitsOf(r.sizeBytes), price: BigInt(r.price) });
  const runs = rows.flatMap((r) => (r.ms === null ? [] : [BigInt(Math.max(0, Math.round(Number(r.ms))))]));
  return { index, queued: Number(queue[0]?.n ?? 0n), runMs: Number(medianOf(runs) ?? 0n), at: Date.now() };
}

const cached = new WeakMap<AppContext, { at: number; market: Promise<Market> }>();

/** The market at most MARKET_TTL_MS old: one read serves every submit meanwhile. */
function recentMarket(app: AppContext): Promise<Market> {
  const hit = cached.get(app);
  if (hit && Date.now() - hit.at < MARKET_TTL_MS) return hit.market;
  const entry = { at: Date.now(), market: readMarket(app) };
  cached.set(app, entry);
  entry.market.catch(() => {
    if (cached.get(app) === entry) cached.delete(app);
  });
  return entry.market;
}

interface Priced {
  model: ModelRow;
  units: bigint;
  q: PriceQuote;
  executions: number;
  zk?: { fee: bigint; constraints: number; basis: "built" | "estimate" };
  market: Market;
  freeSlots: number;
}

async function priceTask(app: AppContext, model: ModelRow, mode: VerificationMode, executions: number, backend: string | undefined, market: Market): Promise<Priced> {
  const units = unitsOf(model.sizeBytes);
  let zk: Priced["zk"];
  if (mode === "zk") {
    // 400 MODEL_NOT_PROVABLE for a model the compiler cannot prove; the fee is the one a submit stores.
    const { fee, constraints } = await app.zk.prepare(model);
    zk = { fee, constraints, basis: app.zk.ready(model.id) ? "built" : "estimate" };
  }
  const live = app.providers.list().filter((p) => !p.draining && (backend === undefined || p.backend === backend));
  const freeSlots = live.reduce((n, p) => n + Math.max(0, p.slots - p.active.size), 0);
  const q = quote({
    units,
    index: market.index.lookup(units, backend),
    asks: live.map((p) => priceFor(p, units)),
    executions,
    zkFee: zk?.fee ?? 0n,
    queued: market.queued,
    freeSlots,
    slots: live.reduce((n, p) => n + p.slots, 0),
    runMs: market.runMs,
    fallbackMaxPrice: app.config.DEFAULT_MAX_PRICE,
    marginBps: app.config.QUOTE_MARGIN_BPS,
    minSamples: app.config.QUOTE_MIN_SAMPLES,
  });
  return { model, units, q, executions, ...(zk ? { zk } : {}), market, freeSlots };
}

/** GET /api/v1/quote: what a task on the model is expected to cost and wait; `executions`: what the mode needs at most. */
export async function getQuote(app: AppContext, req: QuoteRequest, executions: number): Promise<Quote> {
  const model = await getModelRow(app, req.modelId);
  const p = await priceTask(app, model, req.mode, executions, req.backend, await readMarket(app));
  return {
    modelId: model.id,
    mode: req.mode,
    units: p.units.toString(),
    modelClass: modelClassOf(p.units),
    source: p.q.source,
    pricePerUnit: p.q.pricePerUnit.toString(),
    pricePerExecution: p.q.pricePerExecution.toString(),
    executions: p.executions,
    total: p.q.total.toString(),
    defaultMaxPrice: p.q.defaultMaxPrice.toString(),
    ...(p.zk ? { zk: { fee: p.zk.fee.toString(), constraints: p.zk.constraints, basis: p.zk.basis } } : {}),
    queueDepth: p.market.queued,
    freeSlots: p.freeSlots,
    expectedWaitMs: p.q.expectedWaitMs,
    samples: p.q.samples,
  };
}

/**
 * The maxPrice of a submit that names none: the quote (on the backend the task requires, if any)
 * plus QUOTE_MARGIN_BPS once the index has settled for the model's class, else DEFAULT_MAX_PRICE —
 * and DEFAULT_MAX_PRICE for a sealed task, which goes to the one provider it was sealed to.
 */
export async function defaultMaxPrice(app: AppContext, model: ModelRow, body: SubmitTask, mode: VerificationMode): Promise<bigint> {
  if (body.sealed !== undefined || body.requirements?.privacy === "tee") return app.config.DEFAULT_MAX_PRICE;
  const market = await recentMarket(app);
  const backend = body.requirements?.backend;
  const point = market.index.lookup(unitsOf(model.sizeBytes), backend);
  // No clearing yet in the class (on the required backend, when the task names one).
  if (point === undefined || (backend !== undefined && point.anyBackend)) return app.config.DEFAULT_MAX_PRICE;
  return (await priceTask(app, model, mode, 1, backend, market)).q.defaultMaxPrice;
}

/** The index's point on a backend over every model class (what provider:price answers), from the recent market. */
export async function backendIndex(app: AppContext, backend: string): Promise<IndexPoint | undefined> {
  return (await recentMarket(app)).index.onBackend(backend);
}
