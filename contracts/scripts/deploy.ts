/**
 * Deploys Stun's contract set to a public EVM chain (or a local anvil), checks it on chain, and
 * writes where it went: `deployments/<chain>.json` (addresses, blocks, settlers) and the server
 * settings (`CHAIN_*`) as an env file. docs/CONTRACTS.md "Deploying to a public chain".
 *
 *   npm run deploy -w @stun/contracts -- --chain base-sepolia --rpc-url https://… \
 *     --deployer-key-file ./deployer.key --settlers 0xA…,0xB…,0xC… --threshold 2 \
 *     [--deposit-token 0x… (e.g. USDC)] [--stake-token stun|ledger] [--guardian 0x…] [--treasury 0x…] \
 *     [--out deployments/base-sepolia.json] [--env-out deploy.env] [--yes-mainnet]
 *
 * `--stake-token` picks the token providers stake in Staking, for good (it is immutable): `stun`
 * (the default) or `ledger`, the deposit token, whose on-chain stake the server then counts in the
 * ledger base unit for base unit (docs/CHAIN.md "Stake on chain").
 *
 * The deployer key is read from a file (mode 0600 or stricter; never from the command line, where
 * other users could read it). Nothing is sent when a check fails: a chain id that is not the named
 * chain's, a mainnet without --yes-mainnet, a bad settler set, a deployer without gas money.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Address, Hex } from "viem";
import { CHAIN_NAMES, type ChainName } from "../src-ts/chains";
import { type StakeTokenChoice, deployToChain } from "../src-ts/deploy-chain";
import { readPrivateFile } from "../src-ts/private-file";

/** The deployer's key from a file only its owner can read (readPrivateFile, as the server reads its secrets). */
export function readDeployerKey(file: string): Hex {
  const key = readPrivateFile(file).trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error(`${file} does not hold a private key (0x + 64 hex digits)`);
  return key as Hex;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      chain: { type: "string" },
      "rpc-url": { type: "string" },
      "deployer-key-file": { type: "string" },
      settlers: { type: "string" },
      threshold: { type: "string" },
      "deposit-token": { type: "string" },
      "stake-token": { type: "string" },
      guardian: { type: "string" },
      treasury: { type: "string" },
      out: { type: "string" },
      "env-out": { type: "string" },
      "yes-mainnet": { type: "boolean", default: false },
    },
  });
  const chain = values.chain as ChainName | undefined;
  if (!chain || !CHAIN_NAMES.includes(chain)) throw new Error(`--chain must be one of ${CHAIN_NAMES.join(", ")}`);
  for (const required of ["rpc-url", "deployer-key-file", "settlers", "threshold"] as const) if (!values[required]) throw new Error(`--${required} is required`);
  const settlers = values.settlers!.split(",").map((s) => s.trim()) as Address[];
  const { record, checks, env } = await deployToChain({
    chain,
    rpcUrl: values["rpc-url"]!,
    deployerKey: readDeployerKey(values["deployer-key-file"]!),
    settlers,
    threshold: Number(values.threshold),
    ...(values["deposit-token"] ? { depositToken: values["deposit-token"] as Address } : {}),
    ...(values["stake-token"] ? { stakeToken: values["stake-token"] as StakeTokenChoice } : {}),
    ...(values.guardian ? { guardian: values.guardian as Address } : {}),
    ...(values.treasury ? { treasury: values.treasury as Address } : {}),
    confirmMainnet: values["yes-mainnet"],
  });
  const out = resolve(values.out ?? join(import.meta.dirname, "..", "deployments", `${chain}.json`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
  const envText = `${Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n# and the settler keys this server signs with: CHAIN_SETTLER_KEYSTORE + CHAIN_SETTLER_KEYSTORE_PASSWORD_FILE (docs/CHAIN.md)\n`;
  if (values["env-out"]) writeFileSync(values["env-out"], envText);
  for (const c of checks) console.log(`${c.ok ? "ok  " : "FAIL"} ${c.what}${c.detail ? ` (${c.detail})` : ""}`);
  console.log(`deployed to ${chain} (chain ${record.chainId}); wrote ${out}\n\n${envText}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`deploy: ${(e as Error).message}`);
    process.exit(1);
  });
}
