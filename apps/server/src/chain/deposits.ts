/**
 * DepositWatcher: credits the marketplace's `Deposited` logs to the ledger, each exactly once.
 *
 * - Reads logs from a durable cursor (`ChainCursor`, one per chain + marketplace) up to the last
 *   final block (the read, confirmation rule and reorg rewind are chains/evm/deposit-source.ts's,
 *   shared with EvmDepositSource), `head − (CHAIN_CONFIRMATIONS − 1)`, at most CHAIN_LOG_RANGE
 *   blocks per request.
 * - Each range is one database transaction: a `ChainDeposit` row per log (unique on chainId, txHash,
 *   logIndex; a replayed log inserts nothing), the ledger credit `system:chain → acct:<id>:available`
 *   (kind `deposit`) for the new ones, and the cursor move. A crash anywhere re-reads the range.
 * - A log is credited when its token is the ledger token (CHAIN_TOKEN_ADDRESS, one base unit per
 *   ledger unit), its bytes32 account decodes to an existing Stun account (contracts/src-ts/ids.ts),
 *   and the amount fits the ledger's 64-bit balances; otherwise it is recorded `unmatched` with the
 *   reason, and not credited (the funds stay in the contract under that bytes32).
 * - Reorgs: confirmations keep the watcher behind the tip; the cursor also keeps its block's hash,
 *   and when that block changed (a reorg deeper than the confirmations, or a reset local chain) the
 *   cursor rewinds and rescans. Deposits recorded in a rescanned range whose log is gone are marked
 *   `reorged` with their credit reversed, or `vanished` when the balance no longer holds it (logged
 *   for an operator); a log that comes back is recorded again (credited again only if reversed).
 */
import { getAddress } from "viem";
import { bytes32ToAccount } from "@stun/contracts";
import type { AppContext } from "../context";
import type { Tx } from "../db/database";
import { newId } from "../ids";
import { SYSTEM_CHAIN, available, postTransfer } from "../ledger";
import { type DepositLog, cursorBlockChanged, finalBlock, nextRange, readDepositLogs, rewindBlock } from "../chains/evm/deposit-source";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";

const MAX_LEDGER_AMOUNT = 2n ** 63n - 1n;

export interface WatchResult {
  /** New deposits credited / recorded unmatched in this pass. */
  credited: number;
  unmatched: number;
  /** Last block processed. */
  cursor: bigint;
}

export class DepositWatcher {
  readonly cursorId: string;

  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    private readonly clients: ChainClients,
  ) {
    this.cursorId = `deposits:${cfg.chainId}:${cfg.marketplace.toLowerCase()}`;
  }

  /** The cursor (last block processed), or startBlock − 1 before the first pass. */
  async cursor(): Promise<{ blockNumber: bigint; blockHash: string | null }> {
    const row = await this.app.db.prisma.chainCursor.findUnique({ where: { id: this.cursorId } });
    return row ? { blockNumber: row.blockNumber, blockHash: row.blockHash } : { blockNumber: this.cfg.startBlock - 1n, blockHash: null };
  }

  /** Moves the cursor back (tests; operators replaying a range): the next pass rescans from `blockNumber + 1`. */
  async setCursor(blockNumber: bigint): Promise<void> {
    await this.app.db.prisma.chainCursor.upsert({
      where: { id: this.cursorId },
      create: { id: this.cursorId, chainId: this.cfg.chainId, blockNumber, blockHash: null },
      update: { blockNumber, blockHash: null },
    });
  }

  /** One pass: up to `maxRanges` getLogs ranges of final blocks past the cursor. */
  async tick(maxRanges = 20): Promise<WatchResult> {
    const { publicClient } = this.clients;
    const result: WatchResult = { credited: 0, unmatched: 0, cursor: 0n };
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const safe = finalBlock(head, this.cfg.confirmations);
    let cursor = await this.cursor();

    if (cursor.blockHash !== null) {
      if (await cursorBlockChanged(publicClient, { blockNumber: cursor.blockNumber, blockHash: cursor.blockHash }, head)) {
        const back = rewindBlock(cursor.blockNumber, head, this.cfg);
        this.app.log.error(
          { cursor: cursor.blockNumber.toString(), head: head.toString(), rewindTo: back.toString() },
          "chain: the cursor's block changed (reorg deeper than the confirmations, or a reset chain): rescanning",
        );
        await this.setCursor(back);
        cursor = { blockNumber: back, blockHash: null };
      }
    }

    for (let i = 0; i < maxRanges && cursor.blockNumber < safe; i++) {
      const { from, to } = nextRange(cursor.blockNumber, safe, this.cfg.logRange);
      const logs = await readDepositLogs(publicClient, this.cfg.marketplace, from, to);
      const toBlock = await publicClient.getBlock({ blockNumber: to });
      const counts = await this.app.db.prisma.$transaction(
        async (tx) => {
          const c = { credited: 0, unmatched: 0 };
          for (const log of logs) {
            const r = await this.record(tx, log);
            if (r === "credited") c.credited++;
            else if (r === "unmatched") c.unmatched++;
          }
          await this.markVanished(tx, from, to, logs);
          await tx.$executeRaw`
            INSERT INTO "ChainCursor" (id, "chainId", "blockNumber", "blockHash", "updatedAt")
            VALUES (${this.cursorId}, ${this.cfg.chainId}, ${to}, ${toBlock.hash}, ${new Date()})
            ON CONFLICT (id) DO UPDATE SET "blockNumber" = EXCLUDED."blockNumber", "blockHash" = EXCLUDED."blockHash", "updatedAt" = EXCLUDED."updatedAt"`;
          return c;
        },
        { timeout: 60_000, maxWait: 30_000 },
      );
      result.credited += counts.credited;
      result.unmatched += counts.unmatched;
      cursor = { blockNumber: to, blockHash: toBlock.hash };
      if (counts.credited + counts.unmatched > 0) {
        this.app.log.info({ from: from.toString(), to: to.toString(), ...counts }, "chain: deposits recorded");
      }
    }
    result.cursor = cursor.blockNumber;
    return result;
  }

  /** Records one log; credits it when it matches. Returns what happened (`duplicate`: seen before). */
  private async record(tx: Tx, log: DepositLog): Promise<"credited" | "unmatched" | "duplicate"> {
    const accountId = bytes32ToAccount(log.account);
    let reason: string | null = null;
    if (getAddress(log.token) !== this.cfg.token) reason = `token ${getAddress(log.token)} is not the ledger token ${this.cfg.token}`;
    else if (accountId === undefined || accountId.includes(":")) reason = "the account is not an encoded Stun account id";
    else if (log.amount > MAX_LEDGER_AMOUNT) reason = "the amount exceeds the ledger's 64-bit balances";
    else {
      const [row] = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Account" WHERE id = ${accountId}`;
      if (!row) reason = `no Stun account ${accountId}`;
    }
    const credited = reason === null;
    const txHash = log.txHash.toLowerCase();
    const [existing] = await tx.$queryRaw<Array<{ id: string; status: string }>>`
      SELECT id, status FROM "ChainDeposit" WHERE "chainId" = ${this.cfg.chainId} AND "txHash" = ${txHash} AND "logIndex" = ${log.logIndex} FOR UPDATE`;
    if (existing) {
      // Seen before. Only a log that vanished in a reorg and came back is recorded again: credited
      // anew when its credit was reversed (`reorged`), kept when it never was (`vanished`).
      if (existing.status !== "reorged" && existing.status !== "vanished") return "duplicate";
      const again = existing.status === "reorged" && credited;
      await tx.$executeRaw`
        UPDATE "ChainDeposit" SET "blockNumber" = ${log.blockNumber}, "blockHash" = ${log.blockHash.toLowerCase()},
          status = ${existing.status === "vanished" ? "credited" : credited ? "credited" : "unmatched"}, reason = ${reason},
          "accountId" = ${credited ? accountId! : null}
        WHERE id = ${existing.id}`;
      if (!again) return existing.status === "vanished" ? "duplicate" : "unmatched";
      await this.credit(tx, existing.id, accountId!, log.amount);
      return "credited";
    }
    const id = newId("dep");
    const inserted = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO "ChainDeposit" (id, "chainId", "txHash", "logIndex", "blockNumber", "blockHash", "accountRef", "accountId",
                                  "fromAddress", token, amount, status, reason, "createdAt")
      VALUES (${id}, ${this.cfg.chainId}, ${txHash}, ${log.logIndex}, ${log.blockNumber}, ${log.blockHash.toLowerCase()},
              ${log.account.toLowerCase()}, ${credited ? accountId! : null}, ${log.from.toLowerCase()}, ${log.token.toLowerCase()},
              ${log.amount.toString()}, ${credited ? "credited" : "unmatched"}, ${reason}, ${new Date()})
      ON CONFLICT ("chainId", "txHash", "logIndex") DO NOTHING
      RETURNING id`;
    if (inserted.length === 0) return "duplicate";
    if (!credited) {
      this.app.log.warn({ txHash: log.txHash, logIndex: log.logIndex, account: log.account, reason }, "chain: deposit not credited");
      return "unmatched";
    }
    await this.credit(tx, id, accountId!, log.amount);
    return "credited";
  }

  /** The ledger credit of one deposit: `system:chain → acct:<id>:available` (kind `deposit`). */
  private async credit(tx: Tx, depositId: string, accountId: string, amount: bigint): Promise<void> {
    const { txId } = await postTransfer(tx, {
      kind: "deposit",
      entries: [
        { account: SYSTEM_CHAIN, amount: -amount },
        { account: available(accountId), amount },
      ],
    });
    await tx.$executeRaw`UPDATE "ChainDeposit" SET "ledgerTxId" = ${txId} WHERE id = ${depositId}`;
  }

  /**
   * Deposits recorded in blocks [from, to] whose log is no longer there (a reorg): marked
   * `reorged`; the credit is reversed when the account's balance still holds it.
   */
  private async markVanished(tx: Tx, from: bigint, to: bigint, logs: DepositLog[]): Promise<void> {
    const rows = await tx.$queryRaw<Array<{ id: string; txHash: string; logIndex: number; accountId: string | null; amount: string; status: string }>>`
      SELECT id, "txHash", "logIndex", "accountId", amount, status FROM "ChainDeposit"
      WHERE "chainId" = ${this.cfg.chainId} AND "blockNumber" BETWEEN ${from} AND ${to} AND status IN ('credited', 'unmatched')`;
    const seen = new Set(logs.map((l) => `${l.txHash.toLowerCase()}:${l.logIndex}`));
    for (const row of rows) {
      if (seen.has(`${row.txHash}:${row.logIndex}`)) continue;
      let note = "its log is gone (reorg)";
      let status = "reorged";
      if (row.status === "credited" && row.accountId) {
        const amount = BigInt(row.amount);
        const [acct] = await tx.$queryRaw<Array<{ balance: bigint }>>`SELECT balance FROM "Account" WHERE id = ${row.accountId} FOR UPDATE`;
        if (acct && acct.balance >= amount) {
          await postTransfer(tx, {
            kind: "deposit_reorged",
            entries: [
              { account: available(row.accountId), amount: -amount },
              { account: SYSTEM_CHAIN, amount },
            ],
          });
          note += "; credit reversed";
        } else {
          note += "; credit NOT reversed (already spent): needs an operator";
          status = "vanished";
        }
      }
      this.app.log.error({ deposit: row.id, txHash: row.txHash, logIndex: row.logIndex, note }, "chain: a recorded deposit vanished");
      await tx.$executeRaw`UPDATE "ChainDeposit" SET status = ${status}, reason = ${note} WHERE id = ${row.id}`;
    }
  }
}
