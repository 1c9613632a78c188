import { readFileSync } from "node:fs";
import { type AttestationPolicy, parsePolicy } from "@stun/tee";

/**
 * The server's attestation policy: TEE_POLICY_FILE (JSON, packages/tee AttestationPolicySchema)
 * with TEE_ALLOW_SIMULATED over it. The simulated TEE is on by default locally and refused in
 * production: there a config that turns it on does not start.
 */
export function loadTeePolicy(env: { STUN_MODE: "local" | "production"; TEE_POLICY_FILE?: string | undefined; TEE_ALLOW_SIMULATED?: boolean | undefined }): AttestationPolicy {
  let file: unknown = {};
  if (env.TEE_POLICY_FILE) {
    try {
      file = JSON.parse(readFileSync(env.TEE_POLICY_FILE, "utf8"));
    } catch (e) {
      throw new Error(`Invalid configuration:\n  TEE_POLICY_FILE: ${(e as Error).message}`);
    }
  }
  const parsed = (() => {
    try {
      return parsePolicy(file);
    } catch (e) {
      throw new Error(`Invalid configuration:\n  TEE_POLICY_FILE: ${(e as Error).message}`);
    }
  })();
  const production = env.STUN_MODE === "production";
  const allowSimulated = env.TEE_ALLOW_SIMULATED ?? (production ? false : ((file as { allowSimulated?: boolean }).allowSimulated ?? true));
  if (production && (allowSimulated || parsed.allowSimulated)) throw new Error("Invalid configuration:\n  TEE_ALLOW_SIMULATED: the simulated TEE proves nothing and is never accepted in production");
  return { ...parsed, allowSimulated };
}
