/**
 * The TON rail as the server runs it (TON_API_URL set): every TON_POLL_MS the deposit scanner
 * catches up on the marketplace contract's Deposited log through the toncenter API.
 */
import type { Database } from "../../db/database";
import { DepositScanner } from "../deposit-scanner";
import { PollLoop, type RailLog } from "../poll-loop";
import type { TonConfig } from "./config";
import { TonDepositSource } from "./deposit-source";
import { type TonCenter, toncenterV3 } from "./toncenter";

export class TonRail {
  readonly scanner: DepositScanner;
  private readonly loop: PollLoop;

  private constructor(db: Database, cfg: TonConfig, api: TonCenter, log: RailLog) {
    const source = new TonDepositSource({ network: cfg.network, marketplace: cfg.marketplace, jettonMaster: cfg.jettonMaster, api });
    this.scanner = new DepositScanner(db, source, { token: cfg.jettonMaster });
    this.loop = new PollLoop(
      "ton",
      async () => {
        const d = await this.scanner.drain(5);
        if (d.credited + d.unmatched > 0) log.info({ ...d }, "ton: deposits recorded");
      },
      cfg.pollMs,
      log,
    );
  }

  static start(db: Database, cfg: TonConfig, log: RailLog, api: TonCenter = toncenterV3(cfg.apiUrl, cfg.apiKey)): TonRail {
    const rail = new TonRail(db, cfg, api, log);
    log.info({ network: cfg.network, marketplace: cfg.marketplace, jetton: cfg.jettonMaster }, "ton: deposits (Jetton transfers tagged with the account) on");
    rail.loop.start();
    return rail;
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
