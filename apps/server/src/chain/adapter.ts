/**
 * The chain adapter: checks the configured chain and contract at start, then runs the deposit
 * scanner (deposits.ts), the settlement submitter and the withdrawal submitter one after the other every
 * CHAIN_POLL_MS. Each part keeps its state in the database (cursor, rows), so a restart resumes
 * where the last run stopped and a replay never credits or pays twice.
 */
import { type Address, getAddress, zeroAddress } from "viem";
import { FEE_SPLIT } from "@stun/shared";
import { computeMarketplaceAbi, mockERC20Abi } from "@stun/contracts";
import type { ChainInfo, ChainPort, ChainToken } from "../chain-port";
import type { AppContext } from "../context";
import { type ChainClients, createChainClients } from "./clients";
import type { ChainConfig } from "./config";
import { EvmDeposits } from "./deposits";
import { type ConservationReport, type ExtraTerms, checkConservation } from "./conservation";
import { type StakeConservation, checkStakeConservation } from "./stake-conservation";
import { EscrowSubmitter } from "./escrows";
import { SettlementSubmitter, errorText } from "./settlements";
import { SlashSubmitter } from "./slashes";
import { StakeWatcher } from "./stake-watcher";
import { EvmWithdrawals } from "./withdrawals";

export type { ChainInfo, ChainToken };

/** One comparison of the ledger with the chain: the deposits and escrows (`report`) and, when the ledger counts on-chain stake, the stake. */
export interface ConservationCheck {
  at: Date;
  report: ConservationReport;
  stake: StakeConservation | undefined;
}

export class ChainAdapter implements ChainPort {
  readonly clients: ChainClients;
  readonly deposits: EvmDeposits;
  readonly settlements: SettlementSubmitter;
  /** On-chain stake counted in the ledger, and QA slashes executed on chain (docs/CHAIN.md "Stake on chain"). */
  readonly stake: StakeWatcher;
  readonly slashes: SlashSubmitter;
  readonly withdrawals: EvmWithdrawals;
  /** Per-task escrows (createTask) paying tasks, and disputes of overturned results (chain/escrows.ts). */
  readonly escrows: EscrowSubmitter;
  info!: ChainInfo;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The round callers of tick() wait for while one runs. */
  private next: Promise<void> | undefined;
  private stopped = false;
  /** The last conservation check, and the one running (shared by its callers). */
  private checked: ConservationCheck | undefined;
  private checking: Promise<ConservationCheck> | undefined;
  private nextCheck: number;

  constructor(
    private readonly app: AppContext,
    readonly cfg: ChainConfig,
  ) {
    this.clients = createChainClients(cfg);
    this.deposits = new EvmDeposits(app, cfg, this.clients);
    this.settlements = new SettlementSubmitter(app, cfg, this.clients);
    this.stake = new StakeWatcher(app, cfg, this.clients);
    this.slashes = new SlashSubmitter(app, cfg, this.clients);
    this.withdrawals = new EvmWithdrawals(app, cfg, this.clients);
    this.escrows = new EscrowSubmitter(app, cfg, this.clients);
    this.nextCheck = Date.now() + cfg.conservationMs;
  }

  /** Checks the chain and the contract (throws with what is wrong), then starts polling unless `poll: false`. */
  static async start(app: AppContext, cfg: ChainConfig, opts: { poll?: boolean } = {}): Promise<ChainAdapter> {
    const adapter = new ChainAdapter(app, cfg);
    await adapter.verify();
    if (opts.poll !== false) adapter.schedule(0);
    app.log.info({ chain: cfg.name, chainId: cfg.chainId, marketplace: cfg.marketplace, token: cfg.token, confirmations: cfg.confirmations }, "chain adapter started");
    return adapter;
  }

  private async verify(): Promise<void> {
    const { publicClient, signers, wallet } = this.clients;
    const fail = (what: string) => {
      throw new Error(`chain ${this.cfg.name} (${this.cfg.rpcUrl}): ${what}`);
    };
    const chainId = await publicClient.getChainId().catch((e: unknown) => fail(`not reachable: ${errorText(e)}`));
    if (chainId !== this.cfg.chainId) fail(`the RPC serves chain ${chainId}, not ${this.cfg.chainId}`);
    const code = await publicClient.getCode({ address: this.cfg.marketplace });
    if (!code || code === "0x") fail(`no contract at CHAIN_MARKETPLACE_ADDRESS ${this.cfg.marketplace}`);
    const read = <T>(functionName: string, args: readonly unknown[] = []) =>
      publicClient.readContract({ address: this.cfg.marketplace, abi: computeMarketplaceAbi, functionName, args } as never) as Promise<T>;
    if (!(await read<boolean>("isTokenAllowed", [this.cfg.token]))) fail(`the marketplace does not allow CHAIN_TOKEN_ADDRESS ${this.cfg.token}`);
    const threshold = await read<bigint>("settlerThreshold");
    if (BigInt(signers.length) < threshold) fail(`the marketplace needs ${threshold} settler signatures; CHAIN_SETTLER_THRESHOLD gives ${signers.length}`);
    for (const s of signers) if (!(await read<boolean>("isSettler", [s.address]))) fail(`${s.address} (from CHAIN_SETTLER_KEYS) is not a settler of the marketplace`);
    const [treasuryBps, creatorBps] = await Promise.all([read<number>("treasuryBps"), read<number>("creatorBps")]);
    if (Number(treasuryBps) !== FEE_SPLIT.treasuryBps || Number(creatorBps) !== FEE_SPLIT.creatorBps) {
      fail(`the marketplace splits ${treasuryBps}/${creatorBps} bps, the ledger ${FEE_SPLIT.treasuryBps}/${FEE_SPLIT.creatorBps}: on-chain payouts would differ from the ledger's`);
    }
    const gas = await publicClient.getBalance({ address: wallet.account.address });
    if (gas === 0n) this.app.log.warn({ submitter: wallet.account.address }, "chain: the submitter account has no ETH for gas");

    const token = async (address: Address): Promise<ChainToken> => {
      if (address === zeroAddress) return { address, symbol: "ETH", decimals: 18 };
      const [symbol, decimals] = await Promise.all([
        publicClient.readContract({ address, abi: mockERC20Abi, functionName: "symbol" }).catch(() => "?"),
        publicClient.readContract({ address, abi: mockERC20Abi, functionName: "decimals" }).catch(() => 18),
      ]);
      return { address, symbol, decimals: Number(decimals) };
    };
    const [treasury, stakeToken, disputeWindow] = await Promise.all([read<Address>("treasury"), read<Address>("stakeToken"), read<bigint>("disputeWindow")]);
    const ledgerToken = await token(this.cfg.token);
    const staked = getAddress(stakeToken) === getAddress(this.cfg.token) ? ledgerToken : await token(getAddress(stakeToken));
    this.info = {
      network: this.cfg.name,
      chainId: this.cfg.chainId,
      name: this.cfg.label,
      rpcUrl: this.cfg.publicRpcUrl,
      ...(this.cfg.explorerUrl ? { explorerUrl: this.cfg.explorerUrl } : {}),
      marketplace: this.cfg.marketplace,
      ledgerToken: ledgerToken.address,
      stakeToken: staked,
      ...(staked === ledgerToken ? {} : { stunToken: staked }),
      tokens: [ledgerToken],
      treasury: getAddress(treasury),
      confirmations: this.cfg.confirmations,
      disputeWindowSeconds: Number(disputeWindow),
    };
  }

  /**
   * One full round (deposits, escrows, settlements, withdrawals, stake, slashes) that starts after
   * this call; each part's error is logged, not thrown. A call while a round runs waits for the next
   * one (shared by every such call): the running round may have read the chain before what the
   * caller wants it to see.
   */
  tick(): Promise<void> {
    if (!this.running) return this.round();
    this.next ??= this.running.then(() => {
      this.next = undefined;
      return this.running ?? this.round(); // one another caller started in between also began after ours
    });
    return this.next;
  }

  private round(): Promise<void> {
    this.running = (async () => {
      for (const [part, run] of [
        ["deposits", () => this.deposits.tick()],
        // Before settlements: a dispute must be mirrored before a release round reads the chain.
        ["escrows", () => this.escrows.tick()],
        ["settlements", () => this.settlements.tick()],
        ["withdrawals", () => this.withdrawals.tick()],
        ["stake", () => this.stake.tick()],
        ["slashes", () => this.slashes.tick()],
        // Every CHAIN_CONSERVATION_MS, after the parts that move money (the first one interval after start).
        ["conservation", () => this.conservationIfDue()],
      ] as const) {
        if (this.stopped) return;
        try {
          await run();
        } catch (e) {
          this.app.log.error({ err: e, error: errorText(e) }, `chain: ${part} round failed`);
        }
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The ledger and the chain term by term (chain/conservation.ts); `mismatches` empty when they agree. */
  conservation(extraTerms: ExtraTerms[] = []): Promise<ConservationReport> {
    return checkConservation({ app: this.app, cfg: this.cfg, clients: this.clients }, extraTerms);
  }

  /**
   * The last conservation check when it is younger than `maxAgeMs` (CHAIN_CONSERVATION_MS, 10 s when
   * that is 0), else a new one (one at
   * a time, its callers share it): what `GET /chain/conservation` answers and the round runs when due.
   * Each updates the metrics (`stun_chain_conservation_mismatches`) and logs a disagreement. The
   * check is not atomic across the database and the chain: a change in flight can show for a moment.
   */
  latestConservation(maxAgeMs = this.cfg.conservationMs || 10_000): Promise<ConservationCheck> {
    if (this.checked && Date.now() - this.checked.at.getTime() < maxAgeMs) return Promise.resolve(this.checked);
    this.checking ??= (async () => {
      const [report, stake] = await Promise.all([this.conservation(), this.stake.enabled().then((on) => (on ? checkStakeConservation(this.app, this.cfg, this.clients) : undefined))]);
      const check = { at: new Date(), report, stake };
      const mismatches = [...report.mismatches, ...(stake?.violations ?? [])];
      this.app.metrics.chainConservationMismatches.set(mismatches.length);
      this.app.metrics.chainConservationCheckedAt.set(Math.floor(check.at.getTime() / 1000));
      if (mismatches.length > 0) this.app.log.warn({ mismatches }, "chain: the ledger and the chain disagree (conservation check; a change in flight can show for a moment)");
      this.checked = check;
      return check;
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** The round's check, every CHAIN_CONSERVATION_MS (the first one interval after start; never when 0). */
  private async conservationIfDue(): Promise<void> {
    if (this.cfg.conservationMs === 0 || Date.now() < this.nextCheck) return;
    this.nextCheck = Date.now() + this.cfg.conservationMs;
    await this.latestConservation(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule(this.cfg.pollMs));
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
