/**
 * The procedure table as a flat list, and one call of a procedure as every generated gateway
 * (GraphQL, gRPC) makes it: the same key check, scope check, input parse and handler as REST
 * and tRPC. Adding a procedure to `procedures` (index.ts) adds it to both gateways.
 */
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import type { KeyAuth } from "../auth/key-auth";
import { procedures } from "./index";
import { authorizeCall, type Procedure } from "./define";

export interface ProcedureEntry {
  /** The table's group: accounts, models, tasks, … */
  domain: string;
  /** The procedure's name in its group: create, get, deleteData, … */
  name: string;
  procedure: Procedure;
}

/** Every procedure of the table, in the table's order. */
export function procedureEntries(): ProcedureEntry[] {
  return Object.entries(procedures as Record<string, Record<string, Procedure>>).flatMap(([domain, group]) => Object.entries(group).map(([name, procedure]) => ({ domain, name, procedure })));
}

/** Who calls: the key of a valid bearer token, or why the token given was refused. */
export interface GatewayCaller {
  key: KeyAuth | undefined;
  authError?: unknown;
  ip: string;
  /** Aborted when the caller hangs up (procedures/define.ts AuthedCall.signal). */
  signal?: AbortSignal;
}

/**
 * Runs `p` for `caller` on the input `decode` gives (the plain JSON value, decoded from the gateway's
 * wire only after the key and scope checks, so a caller without a key hears UNAUTHORIZED whatever it
 * sent): UNAUTHORIZED / KEY_SCOPE / VALIDATION_FAILED as REST answers them.
 */
export async function callProcedure(app: AppContext, p: Procedure, caller: GatewayCaller, decode: () => unknown): Promise<unknown> {
  if (p.auth) {
    if (!caller.key) throw caller.authError ?? new StunError("UNAUTHORIZED", "missing or invalid API key");
    authorizeCall(p, caller.key);
  }
  const parsed = p.input.parse(decode());
  return p.handler({ app, accountId: caller.key?.accountId as string, key: caller.key, ip: caller.ip, ...(caller.signal ? { signal: caller.signal } : {}) }, parsed as never);
}
