// snarkjs, circomlibjs and ffjavascript ship no TypeScript declarations; @stun/circuits wraps
// them in typed functions (lib/snark.ts, lib/poseidon.ts), so `any` stays inside those files.
declare module "snarkjs";
declare module "circomlibjs";
declare module "ffjavascript";
