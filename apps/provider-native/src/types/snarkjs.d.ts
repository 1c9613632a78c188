// snarkjs ships no TypeScript declarations; zk-prover.ts types what it uses (Groth16Prover in @stun/shared).
declare module "snarkjs";
