import type { z } from "zod";
import { StunError, type KeyScope } from "@stun/shared";
import type { AppContext } from "../context";
import type { KeyAuth } from "../auth/key-auth";
import { defaultScopes, requireScope } from "../auth/scopes";

export interface AuthedCall {
  app: AppContext;
  accountId: string;
  /** The calling key (its id and scopes); set by every surface. */
  key?: KeyAuth;
  /** The caller's address as a rate-limit id (limits/rate-limits.ts addressId). */
  ip: string;
  /** Aborted when the caller hangs up before its answer (every surface sets it): a handler that waits stops waiting. */
  signal?: AbortSignal;
}
export interface PublicCall {
  app: AppContext;
  accountId: string | undefined;
  key?: KeyAuth | undefined;
  ip: string;
  signal?: AbortSignal;
}

/**
 * One procedure of the API: its input and output schemas (from @stun/shared) and its handler.
 * REST routes, tRPC procedures and the OpenAPI document are all wired from these objects, so the
 * three surfaces cannot drift apart.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the erased form, for tables of procedures
export type Procedure<I extends z.ZodType = any, O extends z.ZodType = any> = ProcedureBody<I, O> & {
  /**
   * The input carries tensors: its body may be up to BODY_LIMIT; every other procedure's body is
   * held to JSON_BODY_LIMIT (http/app.ts, http/trpc-route.ts). Such a procedure must need a key.
   */
  tensors?: true;
};
type ProcedureBody<I extends z.ZodType, O extends z.ZodType> =
  | {
      kind: "query" | "mutation";
      auth: true;
      /** The key scopes that may call it (any of them; admin always may). Default: queries any key, mutations admin. */
      scopes?: readonly KeyScope[];
      summary: string;
      input: I;
      output: O;
      handler: (call: AuthedCall, input: z.infer<I>) => Promise<z.infer<O>>;
    }
  | {
      kind: "query" | "mutation";
      auth: false;
      scopes?: undefined;
      summary: string;
      input: I;
      output: O;
      handler: (call: PublicCall, input: z.infer<I>) => Promise<z.infer<O>>;
    };

/** Declares a procedure, keeping its literal `kind` so tRPC's router type knows queries from mutations. */
export const procedure = <I extends z.ZodType, O extends z.ZodType, K extends "query" | "mutation">(p: Procedure<I, O> & { kind: K }): Procedure<I, O> & { kind: K } => p;

/** Throws KEY_SCOPE (403) unless the calling key may call `p` (docs/CONCEPTS.md "API keys: scopes, expiry, revocation"). Public procedures check inside. */
export function authorizeCall(p: Procedure, key: KeyAuth): void {
  if (p.auth) requireScope(key.scopes, p.scopes ?? defaultScopes(p.kind), `call this (${p.summary.split(/[:(]/)[0]!.trim().toLowerCase()})`);
}

/** The calling key of an authenticated call (every surface sets it). */
export function callerKey(call: AuthedCall): KeyAuth {
  if (!call.key) throw new StunError("UNAUTHORIZED", "this call needs an API key");
  return call.key;
}
