import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { AttestationError } from "../../src/errors";

/** A recorded fixture's bytes (test/fixtures, sources in its README). */
export const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)));

/** The AttestationError `p` rejects with (failing the test when it resolves or throws something else). */
export async function refusal(p: Promise<unknown>): Promise<AttestationError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AttestationError);
  return e as AttestationError;
}

/** A copy of `bytes` with one bit of byte `at` flipped. */
export function flippedAt(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at]! ^= 0x01;
  return out;
}
