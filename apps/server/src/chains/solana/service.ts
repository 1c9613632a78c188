/**
 * The Solana rail as the server runs it (SOLANA_RPC_URL set): every SOLANA_POLL_MS, the deposit
 * scanner catches up on the deposit token account (the deposit owner's ATA for the mint) and, with
 * a settlement key, the payout queue checks sent transactions and sends pending payouts. A failing
 * pass (RPC down) is logged and retried next time; nothing is credited or paid twice meanwhile.
 */
import { createKeyPairSignerFromBytes } from "@solana/kit";
import type { Database } from "../../db/database";
import { DepositScanner } from "../deposit-scanner";
import { PayoutQueue } from "../payouts";
import type { SolanaChain } from "./chain";
import type { SolanaConfig } from "./config";
import { SolanaDepositSource } from "./deposits";
import { SolanaPayoutRail, associatedTokenAccount } from "./payouts";
import { rpcSolanaChain } from "./rpc-chain";

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class SolanaRail {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    readonly depositAccount: string,
    readonly scanner: DepositScanner,
    readonly payouts: PayoutQueue | undefined,
    private readonly log: Log,
    private readonly pollMs: number,
  ) {}

  /** Builds the rail and starts its loop (no RPC call before the first pass). */
  static async start(db: Database, cfg: SolanaConfig, log: Log, chain: SolanaChain = rpcSolanaChain(cfg.rpcUrl)): Promise<SolanaRail> {
    const depositAccount = await associatedTokenAccount(cfg.depositOwner, cfg.mint);
    const scanner = new DepositScanner(db, new SolanaDepositSource(chain, cfg.network, depositAccount), { token: cfg.mint });
    let payouts: PayoutQueue | undefined;
    if (cfg.settlementKey) {
      const signer = await createKeyPairSignerFromBytes(cfg.settlementKey);
      const rail = new SolanaPayoutRail(chain, cfg.network, cfg.mint, signer);
      payouts = new PayoutQueue(db, rail, { maxBatch: cfg.payoutBatch, log: (msg, data) => log.warn(data, `solana: ${msg}`) });
    }
    const r = new SolanaRail(depositAccount, scanner, payouts, log, cfg.pollMs);
    log.info({ network: cfg.network, mint: cfg.mint, depositAccount, payouts: payouts !== undefined }, "solana: deposits (SPL transfer + memo) and payouts on");
    r.schedule(0);
    return r;
  }

  /** One pass: deposits, then payouts. */
  async pass(): Promise<void> {
    const d = await this.scanner.drain(5);
    if (d.credited + d.unmatched > 0) this.log.info({ ...d }, "solana: deposits recorded");
    if (this.payouts) {
      const p = await this.payouts.tick();
      if (p.sent + p.confirmed + p.failed + p.expired > 0) this.log.info({ ...p }, "solana: payouts");
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .catch((e: unknown) => this.log.error({ error: e instanceof Error ? e.message : String(e) }, "solana: pass failed (retried)"))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.pollMs);
        });
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
