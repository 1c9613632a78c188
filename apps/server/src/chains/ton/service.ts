/**
 * The TON rail as the server runs it (TON_API_URL set): every TON_POLL_MS the deposit scanner
 * catches up on the marketplace contract's Deposited log through the toncenter API and, with
 * TON_WALLET_KEY and TON_SETTLER_KEYS, the payout queue checks sent orders and sends pending
 * payouts (settler-signed `payout` orders relayed by the hot wallet). A failing pass is logged and
 * retried next time; nothing is credited or paid twice meanwhile.
 */
import type { Database } from "../../db/database";
import { DepositScanner } from "../deposit-scanner";
import { PayoutQueue } from "../payouts";
import { PollLoop, depositsThenPayouts, type RailLog } from "../poll-loop";
import type { TonConfig } from "./config";
import { TonDepositSource } from "./deposit-source";
import { TonPayoutRail } from "./payouts";
import { type TonCenter, toncenterV3 } from "./toncenter";

export class TonRail {
  readonly scanner: DepositScanner;
  readonly payouts: PayoutQueue | undefined;
  readonly payoutRail: TonPayoutRail | undefined;
  private readonly loop: PollLoop;

  private constructor(
    db: Database,
    cfg: TonConfig,
    api: TonCenter,
    private readonly log: RailLog,
    now?: () => number,
  ) {
    const source = new TonDepositSource({ network: cfg.network, marketplace: cfg.marketplace, jettonMaster: cfg.jettonMaster, api });
    this.scanner = new DepositScanner(db, source, { token: cfg.jettonMaster });
    if (cfg.payouts) {
      const p = cfg.payouts;
      this.payoutRail = new TonPayoutRail({
        network: cfg.network,
        marketplace: cfg.marketplace,
        jettonMaster: cfg.jettonMaster,
        api,
        walletKey: p.walletKey,
        settlerKeys: p.settlerKeys,
        maxPerTransaction: p.batch,
        lifetimeS: p.lifetimeS,
        now,
      });
      this.payouts = new PayoutQueue(db, this.payoutRail, { maxBatch: p.batch, log: (msg, data) => log.warn(data, `ton: ${msg}`) });
    }
    this.loop = new PollLoop("ton", () => this.pass(), cfg.pollMs, log);
  }

  /** Builds the rail and starts its loop; `now` (tests) is the chain's clock in Unix seconds. */
  static start(db: Database, cfg: TonConfig, log: RailLog, api: TonCenter = toncenterV3(cfg.apiUrl, cfg.apiKey), now?: () => number): TonRail {
    const rail = new TonRail(db, cfg, api, log, now);
    log.info(
      { network: cfg.network, marketplace: cfg.marketplace, jetton: cfg.jettonMaster, payouts: rail.payouts !== undefined, wallet: rail.payoutRail?.walletAddress },
      "ton: deposits (Jetton transfers tagged with the account) and payouts on",
    );
    rail.loop.start();
    return rail;
  }

  /** One pass: deposits, then payouts. */
  pass(): Promise<void> {
    return depositsThenPayouts("ton", this.scanner, this.payouts, this.log);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
