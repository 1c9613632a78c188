import { StunError, type ModelView } from "@stun/shared";
import type { AppContext } from "../context";
import { toModelView, type ModelRow } from "./row";

const MODEL_CACHE_SIZE = 1000;
const modelCache = new WeakMap<AppContext, Map<string, ModelRow>>();
/**
 * Ids recently looked up and not found, with when that answer expires: a flood of submits naming
 * models that do not exist costs one query per id per NOT_FOUND_TTL_MS, not one per request. Ids are
 * made by the server at upload, so nobody can name a model before it exists; the short expiry only
 * bounds a probe of an id another instance stores a moment later.
 */
const NOT_FOUND_TTL_MS = 10_000;
const notFound = new WeakMap<AppContext, Map<string, number>>();

/**
 * A model row by id. Models never change once stored (they are content-addressed), so rows are
 * cached in memory: the submit and result paths do not pay a query for them.
 */
export async function getModelRow(app: AppContext, id: string): Promise<ModelRow> {
  let cache = modelCache.get(app);
  if (!cache) modelCache.set(app, (cache = new Map()));
  const hit = cache.get(id);
  if (hit) return hit;
  let missing = notFound.get(app);
  if (!missing) notFound.set(app, (missing = new Map()));
  const until = missing.get(id);
  if (until !== undefined && until > Date.now()) throw new StunError("MODEL_NOT_FOUND", `no model ${id}`);
  const m = await app.db.prisma.model.findUnique({ where: { id } });
  if (!m) {
    if (missing.size >= MODEL_CACHE_SIZE) missing.delete(missing.keys().next().value!);
    missing.set(id, Date.now() + NOT_FOUND_TTL_MS);
    throw new StunError("MODEL_NOT_FOUND", `no model ${id}`);
  }
  missing.delete(id);
  if (cache.size >= MODEL_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(id, m);
  return m;
}

export async function getModel(app: AppContext, id: string): Promise<ModelView> {
  return toModelView(await getModelRow(app, id));
}

export async function listModels(app: AppContext, limit = 100): Promise<ModelView[]> {
  const rows = await app.db.prisma.model.findMany({ orderBy: { createdAt: "desc" }, take: limit });
  return rows.map(toModelView);
}
