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
import { PollLoop, depositsThenPayouts, type RailLog as Log } from "../poll-loop";

export class SolanaRail {
  private readonly loop: PollLoop;

  private constructor(
    readonly depositAccount: string,
    readonly scanner: DepositScanner,
    readonly payouts: PayoutQueue | undefined,
    private readonly log: Log,
    pollMs: number,
  ) {
    this.loop = new PollLoop("solana", () => this.pass(), pollMs, log);
  }

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
    r.loop.start();
    return r;
  }

  /** One pass: deposits, then payouts. */
  pass(): Promise<void> {
    return depositsThenPayouts("solana", this.scanner, this.payouts, this.log);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
