import { expect } from "vitest";
import { type Address, type Hex, zeroAddress } from "viem";
import { computeMarketplaceAbi, mockERC20Abi } from "@stun/contracts";
import type { LocalChain } from "../../src/chain";
import type { TestNetwork } from "./network";
import { api } from "./api";

/** A funded demo wallet of the local chain. */
export type DemoWallet = LocalChain["anvil"]["wallets"][number];

/**
 * What the tests of on-chain flows do over and over against a local chain (startLocalChain) and a
 * test network: the demo wallets, reads of the marketplace, waiting for a transaction to succeed,
 * accounts with linked wallets, and per-task escrows made by a requester's wallet.
 */
export function localChainKit(chain: LocalChain, net: () => TestNetwork) {
  const walletOf = (address: Address): DemoWallet => chain.anvil.wallets.find((w) => w.account.address === address)!;
  const read = <T>(functionName: string, args: readonly unknown[]) =>
    chain.anvil.publicClient.readContract({ address: chain.addresses.marketplace, abi: computeMarketplaceAbi, functionName, args } as never) as Promise<T>;
  /** Waits for the transaction and expects it to have succeeded. */
  const mined = async (hash: Promise<Hex>) => {
    const r = await chain.anvil.publicClient.waitForTransactionReceipt({ hash: await hash });
    expect(r.status).toBe("success");
    return r;
  };
  const chainNow = async () => Number((await chain.anvil.publicClient.getBlock()).timestamp);
  return {
    walletOf,
    read,
    mined,
    chainNow,
    /** The demo wallets (startLocalChain's `demoAccounts`), in order. */
    demoWallets: (): DemoWallet[] => chain.demoAccounts.map((a) => walletOf(a.address)),
    /** A new Stun account (REST) and its API key. */
    newAccount: async () => {
      const r = await api(net().url, "POST", "/accounts");
      return { id: r.body.accountId as string, key: r.body.apiKey as string };
    },
    /** Links `address` to the account as its EVM wallet (what Sign-In with Ethereum records). */
    link: (accountId: string, address: Address) => net().db.prisma.account.update({ where: { id: accountId }, data: { walletAddress: address.toLowerCase() } }),
    /** `approve` + `createTask(id, token, amount, deadline = the chain's clock + ttl, modelCreator)` from `from`. */
    createEscrow: async (from: DemoWallet, id: Hex, amount: bigint, ttl = 3_600, modelCreator: Address = zeroAddress) => {
      await mined(from.writeContract({ address: chain.addresses.token, abi: mockERC20Abi, functionName: "approve", args: [chain.addresses.marketplace, amount] }));
      await mined(
        from.writeContract({
          address: chain.addresses.marketplace,
          abi: computeMarketplaceAbi,
          functionName: "createTask",
          args: [id, chain.addresses.token, amount, BigInt((await chainNow()) + ttl), modelCreator],
        }),
      );
      return id;
    },
  };
}
