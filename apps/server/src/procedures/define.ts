import type { z } from "zod";
import type { AppContext } from "../context";

export interface AuthedCall {
  app: AppContext;
  accountId: string;
  /** The caller's address as a rate-limit id (limits/rate-limits.ts addressId). */
  ip: string;
}
export interface PublicCall {
  app: AppContext;
  accountId: string | undefined;
  ip: string;
}

/**
 * One procedure of the API: its input and output schemas (from @stun/shared) and its handler.
 * REST routes, tRPC procedures and the OpenAPI document are all wired from these objects, so the
 * three surfaces cannot drift apart.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the erased form, for tables of procedures
export type Procedure<I extends z.ZodType = any, O extends z.ZodType = any> =
  | {
      kind: "query" | "mutation";
      auth: true;
      summary: string;
      input: I;
      output: O;
      handler: (call: AuthedCall, input: z.infer<I>) => Promise<z.infer<O>>;
    }
  | {
      kind: "query" | "mutation";
      auth: false;
      summary: string;
      input: I;
      output: O;
      handler: (call: PublicCall, input: z.infer<I>) => Promise<z.infer<O>>;
    };

/** Declares a procedure, keeping its literal `kind` so tRPC's router type knows queries from mutations. */
export const procedure = <I extends z.ZodType, O extends z.ZodType, K extends "query" | "mutation">(p: Procedure<I, O> & { kind: K }): Procedure<I, O> & { kind: K } => p;
