import { StunError, type ModelView } from "@stun/shared";
import type { AppContext } from "../context";
import { toModelView, type ModelRow } from "./row";

const MODEL_CACHE_SIZE = 1000;
const modelCache = new WeakMap<AppContext, Map<string, ModelRow>>();

/**
 * A model row by id. Models never change once stored (they are content-addressed), so rows are
 * cached in memory: the submit and result paths do not pay a query for them.
 */
export async function getModelRow(app: AppContext, id: string): Promise<ModelRow> {
  let cache = modelCache.get(app);
  if (!cache) modelCache.set(app, (cache = new Map()));
  const hit = cache.get(id);
  if (hit) return hit;
  const m = await app.db.prisma.model.findUnique({ where: { id } });
  if (!m) throw new StunError("MODEL_NOT_FOUND", `no model ${id}`);
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
