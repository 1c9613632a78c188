/**
 * The Solana rail as the server runs it (SOLANA_RPC_URL set): every SOLANA_POLL_MS, the deposit
 * scanner catches up on the deposit token account (the deposit owner's ATA for the mint) and, with
 * a settlement key, the payout queue checks sent transactions and sends pending payouts (with
 * compute-budget instructions: SOLANA_PRIORITY_FEE_*). A failing
 * pass (RPC down) is logged and retried next time; nothing is credited or paid twice meanwhile.
 */
import { createKeyPairSignerFromBytes } from "@solana/kit";
import type { Database } from "../../db/database";
import { DepositScanner } from "../deposit-scanner";
import { PayoutQueue } from "../payouts";
import { type SolanaChain, TOKEN_2022_PROGRAM } from "./chain";
import type { SolanaConfig } from "./config";
import { SolanaDepositSource } from "./deposits";
import { type MintInfo, MintRefused, readMint } from "./mint";
import { SolanaPayoutRail, associatedTokenAccount } from "./payouts";
import { rpcSolanaChain } from "./rpc-chain";
import { PollLoop, depositsThenPayouts, type RailLog as Log } from "../poll-loop";

export class SolanaRail {
  private readonly loop: PollLoop;

  private constructor(
    readonly depositAccount: string,
    readonly mint: MintInfo,
    readonly scanner: DepositScanner,
    readonly payouts: PayoutQueue | undefined,
    private readonly log: Log,
    pollMs: number,
  ) {
    this.loop = new PollLoop("solana", () => this.pass(), pollMs, log);
  }

  /**
   * Reads the mint (its owner picks SPL Token or Token-2022; a mint Stun cannot take stops the
   * start with the reason), builds the rail and starts its loop.
   */
  static async start(db: Database, cfg: SolanaConfig, log: Log, chain: SolanaChain = rpcSolanaChain(cfg.rpcUrl)): Promise<SolanaRail> {
    let mint: MintInfo;
    try {
      mint = await readMint(chain, cfg.mint);
    } catch (e) {
      if (e instanceof MintRefused) throw e;
      throw new Error(`solana: could not read SOLANA_MINT ${cfg.mint} from SOLANA_RPC_URL: ${(e as Error).message}`);
    }
    const depositAccount = await associatedTokenAccount(cfg.depositOwner, cfg.mint, mint.tokenProgram);
    const scanner = new DepositScanner(db, new SolanaDepositSource(chain, cfg.network, depositAccount, mint.tokenProgram), { token: cfg.mint });
    let payouts: PayoutQueue | undefined;
    if (cfg.settlementKey) {
      const signer = await createKeyPairSignerFromBytes(cfg.settlementKey);
      const rail = new SolanaPayoutRail(chain, cfg.network, cfg.mint, signer, { tokenProgram: mint.tokenProgram, computeBudget: cfg.computeBudget });
      payouts = new PayoutQueue(db, rail, { maxBatch: cfg.payoutBatch, log: (msg, data) => log.warn(data, `solana: ${msg}`) });
    }
    const r = new SolanaRail(depositAccount, mint, scanner, payouts, log, cfg.pollMs);
    log.info(
      {
        network: cfg.network,
        mint: cfg.mint,
        tokenProgram: mint.tokenProgram === TOKEN_2022_PROGRAM ? "token-2022" : "spl-token",
        transferFee: mint.transferFee ? `${mint.transferFee.basisPoints} bps, at most ${mint.transferFee.maximumFee}` : null,
        depositAccount,
        payouts: payouts !== undefined,
        priorityFeeMaxMicroLamports: cfg.computeBudget.maxMicroLamports.toString(),
      },
      "solana: deposits (token transfer + memo) and payouts on",
    );
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
