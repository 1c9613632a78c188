/**
 * What every operator family shares: the handler signature, the error a handler throws for a use
 * it cannot prove (the planner collects these into one ZkmlUnsupportedError), and attribute readers.
 */
import type { CircuitBuilder } from "../builder";
import { type OnnxNode, attribute } from "../onnx";
import { type Value, isConst } from "../value";

/** Turns one node into values (one per output), adding steps and constants to the builder. */
export type Handler = (c: CircuitBuilder, node: OnnxNode, ins: (Value | undefined)[], name: string) => Value | Value[];

/** A supported operator used in a way the compiler cannot prove; `reason` reaches the user. */
export class Unsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Unsupported(`${what} is missing`);
  return v;
}

/** A constant input read as numbers (a shape, axes). */
export function constInts(v: Value | undefined, what: string): number[] {
  if (!v) throw new Unsupported(`${what} is missing`);
  if (!isConst(v)) throw new Unsupported(`${what} must be a constant`);
  return Array.from(v.data);
}

export function ints(node: OnnxNode, name: string, dflt: number[]): number[] {
  const a = attribute(node, name);
  return Array.isArray(a) ? a : dflt;
}
export function int(node: OnnxNode, name: string, dflt: number): number {
  const a = attribute(node, name);
  return typeof a === "number" ? a : dflt;
}
export function float(node: OnnxNode, name: string, dflt: number): number {
  const a = attribute(node, name);
  return typeof a === "number" ? a : dflt;
}
export function str(node: OnnxNode, name: string, dflt: string): string {
  const a = attribute(node, name);
  return typeof a === "string" ? a : dflt;
}
