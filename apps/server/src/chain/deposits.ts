/**
 * EVM deposits on the family-neutral core: the marketplace's `Deposited` logs read by
 * EvmDepositSource (chains/evm/deposit-source.ts: a `<block>:<hash>` cursor, `CHAIN_CONFIRMATIONS`,
 * a rewind and rescan when the cursor's block changed) and recorded by the shared DepositScanner
 * into `ExternalDeposit` rows (family `evm`, network = chain id, txId = transaction hash, index =
 * log index), each credited once (kind `external_deposit`) in the database transaction that moves
 * the cursor. A credited deposit a reorg deeper than the confirmations took away is reversed once,
 * or recorded as the account's shortfall (chains/external-deposits.ts); both are logged as errors.
 *
 * Servers before this recorded EVM deposits in `ChainDeposit` behind `ChainCursor`; migration
 * `evm_deposits_external` copied both, so an upgraded server credits nothing twice.
 */
import type { AppContext } from "../context";
import { DepositScanner, type ScanPass } from "../chains/deposit-scanner";
import { EvmDepositSource } from "../chains/evm/deposit-source";
import type { RecordResult } from "../chains/external-deposits";
import type { ChainClients } from "./clients";
import type { ChainConfig } from "./config";

export class EvmDeposits {
  readonly scanner: DepositScanner;
  readonly source: EvmDepositSource;

  constructor(
    private readonly app: AppContext,
    private readonly cfg: ChainConfig,
    clients: ChainClients,
  ) {
    this.source = new EvmDepositSource(clients.publicClient, {
      chainId: cfg.chainId,
      marketplace: cfg.marketplace,
      confirmations: cfg.confirmations,
      logRange: cfg.logRange,
      startBlock: cfg.startBlock,
    });
    this.scanner = new DepositScanner(app.db, this.source, { token: cfg.token });
  }

  /** The last block scanned (startBlock − 1 before the first scan). */
  async scannedTo(): Promise<bigint> {
    const cursor = await this.scanner.cursor();
    return cursor === null ? this.cfg.startBlock - 1n : BigInt(cursor.split(":")[0]!);
  }

  /** Moves the cursor back (tests; operators replaying a range): the next scan reads from `blockNumber + 1`. */
  setCursor(blockNumber: bigint): Promise<void> {
    return this.scanner.setCursor(`${blockNumber}:`);
  }

  /** Scans until up to date (at most `maxPasses` scans); logs what was recorded or taken back. */
  async tick(maxPasses = 5): Promise<RecordResult> {
    const total: RecordResult = { credited: 0, unmatched: 0, duplicate: 0, reversed: 0 };
    for (let i = 0; i < maxPasses; i++) {
      const before = await this.scanner.cursor();
      const pass = await this.scanner.tick();
      this.report(pass);
      total.credited += pass.credited;
      total.unmatched += pass.unmatched;
      total.duplicate += pass.duplicate;
      total.reversed += pass.reversed;
      if (pass.cursor === before) break;
    }
    return total;
  }

  private report(pass: ScanPass): void {
    if (pass.credited + pass.unmatched > 0) {
      this.app.log.info({ credited: pass.credited, unmatched: pass.unmatched, cursor: pass.cursor }, "chain: deposits recorded");
    }
    for (const g of pass.gone) {
      this.app.log.error(
        { deposit: g.id, txHash: g.txId, logIndex: g.index, accountId: g.accountId, amount: g.amount.toString(), status: g.status },
        g.status === "shortfall"
          ? "chain: a reorg took a credited deposit away and the balance no longer holds it: shortfall recorded, needs an operator"
          : "chain: a reorg took a recorded deposit away",
      );
    }
  }
}
