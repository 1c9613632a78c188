// snarkjs ships no TypeScript declarations; the provider uses it only through @stun/shared's
// Groth16Prover interface (zk-prover.ts).
declare module "snarkjs";
