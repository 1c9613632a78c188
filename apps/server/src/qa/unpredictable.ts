import { randomInt } from "node:crypto";

/** A uniform draw in [0, 1) that providers cannot predict: audits and canaries must be unforeseeable. */
export const unpredictableUniform = (): number => randomInt(2 ** 32) / 2 ** 32;
