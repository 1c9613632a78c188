/**
 * One deposit scanner per source: each pass reads the durable cursor (`ExternalCursor`), asks the
 * source for the final deposits after it, and in ONE database transaction records them
 * (external-deposits.ts) and moves the cursor. A crash before the commit re-reads the same
 * deposits next time; their unique key makes the replay credit nothing twice. When the source
 * says which range it read completely (`covered`), recorded deposits in it that the chain no
 * longer has are taken back in the same transaction (external-deposits.ts `markGone`).
 */
import type { Database } from "../db/database";
import { type DepositRules, type GoneDeposit, type RecordResult, markGone, recordDeposits } from "./external-deposits";
import type { DepositSource } from "./family";

export interface ScanPass extends RecordResult {
  /** The cursor after this pass. */
  cursor: string | null;
  /** Recorded deposits this pass found taken away by a deep reorg (and what was done about it). */
  gone: GoneDeposit[];
}

export class DepositScanner {
  constructor(
    private readonly db: Database,
    private readonly source: DepositSource,
    private readonly rules: DepositRules,
    private readonly limit = 100,
  ) {}

  async cursor(): Promise<string | null> {
    const row = await this.db.prisma.externalCursor.findUnique({ where: { id: this.source.cursorId } });
    return row?.cursor ?? null;
  }

  /** Moves the cursor (operators replaying; tests): the next pass scans after `cursor`. */
  async setCursor(cursor: string | null): Promise<void> {
    const id = this.source.cursorId;
    await this.db.prisma.externalCursor.upsert({ where: { id }, create: { id, cursor }, update: { cursor } });
  }

  /** One pass: at most `limit` transactions past the cursor. */
  async tick(): Promise<ScanPass> {
    const before = await this.cursor();
    const { deposits, cursor, covered } = await this.source.scan(before, this.limit);
    const id = this.source.cursorId;
    const { family, network } = this.source;
    const counts = await this.db.prisma.$transaction(
      async (tx) => {
        const seen = new Set(deposits.map((d) => `${d.txId}:${d.index}`));
        const gone = covered ? await markGone(tx, family, network, covered, seen) : [];
        const r = { ...(await recordDeposits(tx, deposits, this.rules)), reversed: gone.length, gone };
        await tx.$executeRaw`
          INSERT INTO "ExternalCursor" (id, cursor, "updatedAt") VALUES (${id}, ${cursor}, ${new Date()})
          ON CONFLICT (id) DO UPDATE SET cursor = EXCLUDED.cursor, "updatedAt" = EXCLUDED."updatedAt"`;
        return r;
      },
      { timeout: 60_000, maxWait: 30_000 },
    );
    return { ...counts, cursor };
  }

  /** Passes until a pass finds nothing new (catching up after downtime). */
  async drain(maxPasses = 50): Promise<RecordResult> {
    const total: RecordResult = { credited: 0, unmatched: 0, duplicate: 0, reversed: 0 };
    for (let i = 0; i < maxPasses; i++) {
      const before = await this.cursor();
      const pass = await this.tick();
      total.credited += pass.credited;
      total.unmatched += pass.unmatched;
      total.duplicate += pass.duplicate;
      total.reversed += pass.reversed;
      if (pass.cursor === before) break;
    }
    return total;
  }
}
