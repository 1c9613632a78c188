/**
 * A local chain for `npm start` and tests: anvil with the Stun contracts deployed, a mock
 * stablecoin (mUSD, 6 decimals) as the ledger token, one settler, and demo wallets funded with ETH,
 * mUSD and STUN. `env` holds the CHAIN_* variables a server needs to settle on it.
 *
 * With `dataDir`, the chain persists (anvil `--state`, dumped every few seconds and on stop) and so
 * does the deployment (`<dataDir>/chain.json`): the next start resumes the same chain and contracts,
 * so the server's deposit cursor and settlements stay valid. Without it the chain is thrown away.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Address, type Hex, getAddress, parseEther, parseUnits, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { deployMockToken, deployStun, mockERC20Abi, stunTokenAbi } from "@stun/contracts";
import { ANVIL_MNEMONIC, type Anvil, startAnvil } from "@stun/contracts/anvil";

export interface LocalChainOptions {
  /** Keep the chain and its deployment here (a restart resumes them); omitted: a throwaway chain. */
  dataDir?: string;
  /** Demo wallets to fund (anvil accounts 3, 4, …); default 4. */
  demoAccounts?: number;
  /** mUSD each demo wallet gets, in base units (6 decimals); default 10,000 mUSD. */
  demoFunds?: bigint;
  /** Seconds between a settlement and its payouts becoming claimable; default 60 (the contract's minimum). */
  disputeWindow?: bigint;
  /**
   * The token providers stake in Staking (deploy time only: a resumed chain keeps its own):
   * "stun" (default) or "ledger" (mUSD), whose stake the server counts in the ledger (docs/CHAIN.md "Stake on chain").
   */
  stakeToken?: "stun" | "ledger";
}

export interface LocalChainAddresses {
  marketplace: Address;
  /** Providers' on-chain stake (created by the marketplace). */
  staking: Address;
  /** The token Staking takes (STUN or mUSD); absent in a state saved before it was recorded: STUN. */
  stakeToken?: Address;
  /** The ledger token (mUSD): deposits in it are credited base unit for base unit. */
  token: Address;
  stunToken: Address;
  timelock: Address;
  governor: Address;
  treasury: Address;
}

export interface LocalChain {
  rpcUrl: string;
  chainId: number;
  addresses: LocalChainAddresses;
  /** The block the contracts were deployed by (the deposit scan starts there). */
  deployBlock: bigint;
  /** The one settler's private key (also pays the server's gas). */
  settlerKey: Hex;
  /** The deployer (guardian; may still administer the timelock: local only). */
  deployerKey: Hex;
  /** Funded wallets: ETH (anvil), mUSD and STUN. */
  demoAccounts: Array<{ address: Address; privateKey: Hex }>;
  /** CHAIN, CHAIN_RPC_URL, CHAIN_MARKETPLACE_ADDRESS, CHAIN_TOKEN_ADDRESS, CHAIN_SETTLER_KEYS, CHAIN_START_BLOCK. */
  env: Record<string, string>;
  /** The running anvil (viem clients, time travel). */
  anvil: Anvil;
  /** Stops anvil (dumping its state when `dataDir` was given). */
  stop(): Promise<void>;
}

const keyOf = (index: number): Hex => {
  const key = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no private key for anvil account ${index}`);
  return toHex(key);
};

interface Saved {
  addresses: LocalChainAddresses;
  deployBlock: string;
}

/** Starts (or resumes) the local chain. See the module comment. */
export async function startLocalChain(opts: LocalChainOptions = {}): Promise<LocalChain> {
  const demoCount = opts.demoAccounts ?? 4;
  const stateDir = opts.dataDir ? path.resolve(opts.dataDir) : undefined;
  if (stateDir) mkdirSync(stateDir, { recursive: true });
  const statePath = stateDir && path.join(stateDir, "anvil-state.json");
  const savedPath = stateDir && path.join(stateDir, "chain.json");
  const anvil = await startAnvil({
    accounts: 3 + demoCount,
    args: statePath ? ["--state", statePath, "--state-interval", "5"] : [],
  });
  try {
    const [deployer, settler, treasury] = anvil.accounts as [(typeof anvil.accounts)[number], (typeof anvil.accounts)[number], (typeof anvil.accounts)[number]];
    const demo = anvil.accounts.slice(3);
    const { publicClient } = anvil;

    let saved: Saved | undefined;
    if (savedPath && existsSync(savedPath) && statePath && existsSync(statePath)) {
      const s = JSON.parse(readFileSync(savedPath, "utf8")) as Saved;
      const code = await publicClient.getCode({ address: s.addresses.marketplace });
      // A state saved before Staking was split out of the marketplace is redeployed over.
      if (code && code !== "0x" && s.addresses.staking) saved = s;
    }

    if (!saved) {
      const wallet = anvil.wallets[0]!;
      const token = await deployMockToken(wallet, publicClient, { name: "Mock USD", symbol: "mUSD", decimals: 6 });
      const window = opts.disputeWindow ?? 60n;
      const d = await deployStun(wallet, {
        publicClient,
        settlers: [settler.address],
        settlerThreshold: 1n,
        treasury: treasury.address,
        guardian: deployer.address,
        disputeWindow: window,
        unbondingDelay: window,
        allowedTokens: [token],
        stakeToken: opts.stakeToken === "ledger" ? token : "stun",
        timelockDelay: 60n,
        votingDelay: 1,
        votingPeriod: 20,
        keepTimelockAdmin: true,
        extraProposers: [deployer.address],
      });
      const mined = async (hash: Hex) => {
        const r = await publicClient.waitForTransactionReceipt({ hash });
        if (r.status !== "success") throw new Error(`local chain set-up: transaction ${hash} reverted`);
      };
      for (const who of demo) {
        await mined(await wallet.writeContract({ address: token, abi: mockERC20Abi, functionName: "mint", args: [who.address, opts.demoFunds ?? parseUnits("10000", 6)] }));
        await mined(await wallet.writeContract({ address: d.token, abi: stunTokenAbi, functionName: "transfer", args: [who.address, parseEther("10000")] }));
      }
      saved = {
        addresses: {
          marketplace: d.marketplace,
          staking: d.staking,
          stakeToken: d.stakeToken,
          token: getAddress(token),
          stunToken: d.token,
          timelock: d.timelock,
          governor: d.governor,
          treasury: treasury.address,
        },
        // The deposit scan starts here: no deposit can come before the marketplace exists.
        deployBlock: d.blockNumber.toString(),
      };
      if (savedPath) writeFileSync(savedPath, `${JSON.stringify(saved, null, 2)}\n`);
    }

    const settlerKey = keyOf(1);
    const addresses = saved.addresses;
    const deployBlock = BigInt(saved.deployBlock);
    return {
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chain.id,
      addresses,
      deployBlock,
      settlerKey,
      deployerKey: keyOf(0),
      demoAccounts: demo.map((a, i) => ({ address: a.address, privateKey: keyOf(3 + i) })),
      env: {
        CHAIN: "local",
        CHAIN_RPC_URL: anvil.rpcUrl,
        CHAIN_MARKETPLACE_ADDRESS: addresses.marketplace,
        CHAIN_TOKEN_ADDRESS: addresses.token,
        CHAIN_SETTLER_KEYS: settlerKey,
        CHAIN_START_BLOCK: deployBlock.toString(),
      },
      anvil,
      stop: () => anvil.stop(),
    };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}
