/**
 * `provider:price` (docs/PROTOCOL.md, docs/PRICING.md): a connected provider changes its quote
 * without registering again — e.g. one following the price index — and reads the index. The new
 * quote applies to executions dispatched from now; running ones keep the price they were given.
 */
import type { PriceAck, PriceUpdate } from "@stun/shared";
import type { AppContext } from "../context";
import { backendIndex } from "../services/quote";

export async function reprice(app: AppContext, providerId: string, msg: PriceUpdate): Promise<PriceAck> {
  const p = app.providers.get(providerId);
  if (!p) return { ok: false, error: { code: "NOT_REGISTERED", message: "this provider is not connected to this server instance" } };
  const price = msg.price !== undefined ? BigInt(msg.price) : p.price;
  const pricePerUnit = msg.pricePerUnit !== undefined ? BigInt(msg.pricePerUnit) : p.pricePerUnit;
  if (price !== p.price || pricePerUnit !== p.pricePerUnit) {
    await app.db.prisma.provider.update({ where: { id: providerId }, data: { price, pricePerUnit } });
    app.providers.setPrice(providerId, { price, pricePerUnit });
    // Cheaper now: tasks it could not take before may fit.
    app.bus.workAvailable("here");
  }
  const index = await backendIndex(app, p.backend);
  return { ok: true, price: price.toString(), pricePerUnit: pricePerUnit.toString(), index: index ? { perUnit: index.perUnit.toString(), samples: index.samples } : null };
}
