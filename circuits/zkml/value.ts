/**
 * A tensor as the compiler sees it while walking the graph: either a constant (known now, folded
 * at compile time) or dynamic (computed from the input: one linear form per element, at scale
 * exponent `e`, i.e. an integer at 2^(k·e)).
 */
import type { Lin } from "./linear";

export type Value = { kind: "const"; shape: number[]; data: Float64Array } | { kind: "dyn"; shape: number[]; data: Lin[]; e: number };
export type ConstValue = Value & { kind: "const" };
export type DynValue = Value & { kind: "dyn" };

export const isConst = (v: Value | undefined): v is ConstValue => v?.kind === "const";
export const isDyn = (v: Value | undefined): v is DynValue => v?.kind === "dyn";
