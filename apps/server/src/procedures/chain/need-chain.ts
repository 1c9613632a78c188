import { StunError } from "@stun/shared";
import type { AppContext } from "../../context";

/** The chain adapter, or NOT_FOUND when on-chain settlement is off (CHAIN not set). */
export function needChain(app: AppContext): NonNullable<AppContext["chain"]> {
  if (!app.chain) throw new StunError("NOT_FOUND", "on-chain settlement is off on this server (CHAIN is not set)");
  return app.chain;
}
