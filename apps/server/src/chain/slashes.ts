/**
 * Slashing on chain: a QA slash of a provider whose stake is (partly) on chain is executed with
 * `ComputeMarketplace.slash(SlashOrder, settler signatures)` and mirrored in the ledger
 * (docs/CHAIN.md "Stake on chain").
 *
 * - `queueChainSlash` (ledger/chain-stake.ts: QA may not import this folder) runs inside QA's result transaction, right after the ledger slash
 *   (qa/verdicts.ts): the on-chain part is taken first, up to what the chain counts for the provider
 *   (`ChainStaker.active`); the rest of the slash is the ledger's own stake. It writes one `pending`
 *   `ChainSlash` per wallet with a fresh nonce (its row id as bytes32), lowers `active`, and posts the
 *   mirror (kind `chain_slash`): `system:chain_stake` +S; the wronged requester, when the order pays its
 *   share to its linked wallet, −that share from its balance (it gets it on chain instead);
 *   `system:treasury` −the rest (the contract credits it to the treasury). So the ledger slash's
 *   split stands, and each share is held once: in the ledger or claimable on chain.
 * - `SlashSubmitter.tick` sends pending rows (signed by the configured settlers; the transaction is
 *   signed and its hash written `submitted` before it is broadcast), confirms them from the receipt's
 *   `ProviderSlashed` after CHAIN_CONFIRMATIONS, and after a crash or a lost transaction checks
 *   `slashNonceUsed` before sending again: a nonce the chain has used is adopted from its
 *   `ProviderSlashed` log, never sent twice (the contract would refuse it anyway: SlashNonceUsed).
 * - The chain slashes what there is (`min(order, active + unbonding)`): when it took less than
 *   ordered (the provider withdrew unbonding stake before the order landed) the wronged requester
 *   gets the missing part of its on-chain share back in the ledger from the treasury, and the
 *   difference is recorded on the row (`slashed` < `amount`) and on the staker (`overdrawn`).
 */
import { type Address, type Hex, encodeFunctionData, getAddress, keccak256, parseEventLogs } from "viem";
import { type SlashOrder, computeMarketplaceAbi, signSlash } from "@stun/contracts";
import type { AppContext } from "../context";
import { SYSTEM_TREASURY, available, postTransfer } from "../ledger";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { errorText } from "./settlements";

type SlashRow = {
  id: string;
  nonce: string;
  accountId: string;
  wallet: string;
  amount: bigint;
  beneficiary: string;
  beneficiaryAccountId: string | null;
  beneficiaryAmount: bigint;
  status: string;
  txHash: string | null;
  updatedAt: Date;
};

/** What the chain did with one order (its ProviderSlashed log). */
interface Executed {
  slashed: bigint;
  toBeneficiary: bigint;
  blockNumber: bigint;
  txHash: Hex;
}

export function slashOrderOf(row: Pick<SlashRow, "wallet" | "amount" | "beneficiary" | "beneficiaryAmount" | "nonce">): SlashOrder {
  return {
    provider: getAddress(row.wallet),
    amount: row.amount,
    beneficiary: getAddress(row.beneficiary) as Address,
    beneficiaryAmount: row.beneficiaryAmount,
    nonce: row.nonce as Hex,
  };
}

export class SlashSubmitter {
  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    private readonly clients: ChainClients,
  ) {}

  /** One round over open rows: submitted → confirmed (or back to pending), pending → adopted or sent. */
  async tick(): Promise<void> {
    const prisma = this.app.db.prisma;
    const { publicClient } = this.clients;
    const open = (await prisma.chainSlash.findMany({
      where: { chainId: this.cfg.chainId, status: { in: ["pending", "submitted"] } },
      orderBy: { createdAt: "asc" },
      take: 50,
    })) as SlashRow[];
    if (open.length === 0) return;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    for (const row of open) {
      if (row.status === "submitted") {
        const receipt = await publicClient.getTransactionReceipt({ hash: row.txHash as Hex }).catch(() => undefined);
        if (receipt?.status === "success") {
          if (head - receipt.blockNumber + 1n < BigInt(this.cfg.confirmations)) continue;
          const [log] = parseEventLogs({ abi: computeMarketplaceAbi, eventName: "ProviderSlashed", logs: receipt.logs }).filter((l) => l.args.nonce.toLowerCase() === row.nonce);
          if (log) {
            await this.confirm(row, { slashed: log.args.slashed, toBeneficiary: log.args.toBeneficiary, blockNumber: receipt.blockNumber, txHash: receipt.transactionHash });
            continue;
          }
        }
        if (!receipt && Date.now() - row.updatedAt.getTime() < this.cfg.txTimeoutMs) continue;
        // Reverted, dropped or slow: the nonce check below decides (it cannot execute twice).
        await prisma.chainSlash.update({
          where: { id: row.id },
          data: { status: "pending", lastError: receipt ? `reverted: ${row.txHash}` : `no receipt after ${this.cfg.txTimeoutMs} ms: ${row.txHash}` },
        });
      }
      if (await this.nonceUsed(row.nonce as Hex)) {
        const executed = await this.findExecuted(row.nonce as Hex, head);
        if (executed && head - executed.blockNumber + 1n >= BigInt(this.cfg.confirmations)) {
          await this.confirm(row, executed);
          this.app.log.warn({ slash: row.id, txHash: executed.txHash }, "chain: slash found on chain (adopted, not sent again)");
        }
        continue;
      }
      await this.send(row);
    }
  }

  private nonceUsed(nonce: Hex): Promise<boolean> {
    return this.clients.publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "slashNonceUsed", args: [nonce] });
  }

  /** The ProviderSlashed log of `nonce` (indexed), searched backwards from the head in CHAIN_LOG_RANGE steps. */
  private async findExecuted(nonce: Hex, head: bigint): Promise<Executed | undefined> {
    for (let to = head; to >= this.cfg.startBlock; to -= this.cfg.logRange) {
      const from = to - this.cfg.logRange + 1n > this.cfg.startBlock ? to - this.cfg.logRange + 1n : this.cfg.startBlock;
      const [log] = await this.clients.publicClient.getContractEvents({
        address: this.cfg.marketplace,
        abi: computeMarketplaceAbi,
        eventName: "ProviderSlashed",
        args: { nonce },
        fromBlock: from,
        toBlock: to,
        strict: true,
      });
      if (log?.transactionHash && log.blockNumber !== null) return { slashed: log.args.slashed, toBeneficiary: log.args.toBeneficiary, blockNumber: log.blockNumber, txHash: log.transactionHash };
      if (from === this.cfg.startBlock) break;
    }
    return undefined;
  }

  private async send(row: SlashRow): Promise<void> {
    const prisma = this.app.db.prisma;
    const { publicClient, wallet, signers, domain } = this.clients;
    const order = slashOrderOf(row);
    try {
      const signatures = await signSlash(signers, domain, order);
      // A refusal shows here, before anything is broadcast.
      await publicClient.simulateContract({ account: wallet.account, address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName: "slash", args: [order, signatures] });
      const data = encodeFunctionData({ abi: computeMarketplaceAbi, functionName: "slash", args: [order, signatures] });
      const prepared = await wallet.prepareTransactionRequest({ account: wallet.account, chain: wallet.chain, to: this.cfg.marketplace, data });
      const serializedTransaction = await wallet.signTransaction(prepared);
      // Written before it is sent: a row with no txHash never had its order on the wire.
      const hash = keccak256(serializedTransaction);
      await prisma.chainSlash.update({ where: { id: row.id }, data: { status: "submitted", txHash: hash, submittedAt: new Date(), attempts: { increment: 1 }, lastError: null } });
      await wallet.sendRawTransaction({ serializedTransaction }).catch(async (e: unknown) => {
        // Maybe sent, maybe not: the receipt and nonce checks decide after CHAIN_TX_TIMEOUT_MS.
        await prisma.chainSlash.update({ where: { id: row.id }, data: { lastError: `send: ${errorText(e)}`.slice(0, 1000) } });
      });
      this.app.log.info({ slash: row.id, txHash: hash, amount: row.amount.toString() }, "chain: slash sent");
    } catch (e) {
      // A refusal (e.g. a settler key the contract no longer knows) or the RPC: kept pending and retried.
      this.app.log.error({ slash: row.id, error: errorText(e) }, "chain: slash not sent (will retry)");
      await prisma.chainSlash.update({ where: { id: row.id }, data: { lastError: errorText(e).slice(0, 1000), attempts: { increment: 1 } } });
    }
  }

  /** `confirmed` with what the chain took (once: the status guard); a shortfall mirrored (see the module comment). */
  private async confirm(row: SlashRow, executed: Executed): Promise<void> {
    await this.app.db.prisma.$transaction(async (tx) => {
      // QA's slash locks the provider's account, then the requester's, then the ChainStaker rows: the same order here.
      await tx.$queryRaw`SELECT id FROM "Account" WHERE id = ${row.accountId} FOR UPDATE`;
      if (row.beneficiaryAccountId) await tx.$queryRaw`SELECT id FROM "Account" WHERE id = ${row.beneficiaryAccountId} FOR UPDATE`;
      const n = await tx.$executeRaw`
        UPDATE "ChainSlash" SET status = 'confirmed', slashed = ${executed.slashed}, "blockNumber" = ${executed.blockNumber}, "txHash" = ${executed.txHash.toLowerCase()},
          "confirmedAt" = ${new Date()}, "updatedAt" = ${new Date()}, "lastError" = NULL
        WHERE id = ${row.id} AND status IN ('pending', 'submitted')`;
      if (n !== 1) return;
      const shortfall = row.amount - executed.slashed;
      await tx.$executeRaw`
        UPDATE "ChainStaker" SET slashed = slashed + ${executed.slashed}, overdrawn = overdrawn - ${shortfall}, "updatedAt" = ${new Date()}
        WHERE "chainId" = ${this.cfg.chainId} AND wallet = ${row.wallet}`;
      if (shortfall === 0n) return;
      this.app.log.error({ slash: row.id, ordered: row.amount.toString(), slashed: executed.slashed.toString() }, "chain: the chain slashed less than ordered (stake withdrawn first)");
      const missing = row.beneficiaryAmount - executed.toBeneficiary;
      if (missing > 0n && row.beneficiaryAccountId) {
        await postTransfer(tx, {
          kind: "chain_slash_shortfall",
          entries: [
            { account: SYSTEM_TREASURY, amount: -missing },
            { account: available(row.beneficiaryAccountId), amount: missing },
          ],
        });
      }
    });
  }
}
