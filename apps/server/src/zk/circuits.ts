/**
 * @stun/circuits (circom, snarkjs, circomlibjs) loaded on first use: a server that never sees a
 * zk task does not pay for loading it.
 */
type Circuits = typeof import("@stun/circuits");

let loading: Promise<Circuits> | undefined;

export const loadCircuits = (): Promise<Circuits> => (loading ??= import("@stun/circuits"));
