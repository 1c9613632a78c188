/**
 * Operator identity across chain families (qa/candidates.ts linksOf): a Solana or TON wallet tied
 * to two accounts — linked to one, the sender of a deposit credited to the other, or the
 * destination of a payout — makes them one operator, for the quorum (loadRequesterAndProviderIdentities,
 * loadProviderIdentities) and for sibling fate (loadSiblingCandidates). On the real database.
 */
import { expect, it } from "vitest";
import { loadProviderIdentities, loadRequesterAndProviderIdentities, loadSiblingCandidates } from "../../src/qa/candidates";
import { sameOperator } from "../../src/qa/quorum";
import { recordDeposits } from "../../src/chains/external-deposits";
import { newId } from "../../src/ids";
import { describeDb } from "../support/database";
import { useLedgerDatabase } from "../ledger/support";

const SOLANA_WALLET = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
const TON_WALLET = `0:${"ab".repeat(32)}`;

describeDb("operator identity from Solana and TON wallets", () => {
  const db = useLedgerDatabase();

  const account = async () => {
    const id = newId("acc");
    await db().prisma.account.create({ data: { id } });
    return id;
  };
  const provider = async (accountId: string) => {
    const id = newId("prv");
    await db().prisma.provider.create({ data: { id, accountId, name: id, kind: "native", backend: "cpu", region: "local", price: 1n, specs: {} } });
    return id;
  };

  it("a Solana wallet linked to one account and depositing to another ties them; so does a TON payout destination", async () => {
    const [a, b, c, d, stranger] = [await account(), await account(), await account(), await account(), await account()];
    // a signed in with the Solana wallet; b received a deposit sent from it.
    await db().prisma.linkedWallet.create({ data: { family: "solana", address: SOLANA_WALLET, accountId: a, network: "solana:mainnet" } });
    await db().prisma.$transaction((tx) =>
      recordDeposits(tx, [{ family: "solana", network: "mainnet-beta", txId: newId("sig"), index: 0, accountTag: b, token: "MINT", amount: 5n, from: SOLANA_WALLET, slotOrLt: 1n, final: true }], {
        token: "MINT",
      }),
    );
    // c linked the TON wallet; d was paid out to it.
    await db().prisma.linkedWallet.create({ data: { family: "ton", address: TON_WALLET, accountId: c, network: "ton:-239" } });
    await db().prisma.externalPayout.create({ data: { id: newId("xpay"), accountId: d, family: "ton", network: "mainnet", toAddress: TON_WALLET, token: "JETTON", amount: 1n, status: "pending" } });

    const ids = await db().prisma.$transaction(async (tx) =>
      Object.fromEntries(await Promise.all([a, b, c, d, stranger].map(async (x) => [x, (await loadRequesterAndProviderIdentities(tx, x, [])).requester]))),
    );
    expect(ids[a]!.links).toEqual([SOLANA_WALLET.toLowerCase()]);
    expect(sameOperator(ids[a]!, ids[b]!)).toBe(true);
    expect(sameOperator(ids[c]!, ids[d]!)).toBe(true);
    expect(sameOperator(ids[a]!, ids[c]!)).toBe(false);
    expect(sameOperator(ids[b]!, ids[stranger]!)).toBe(false);

    // Providers: b's provider is a sibling of a's when a's is caught, d's of c's; the others are not.
    const [pa, pb, pc, pd] = [await provider(a), await provider(b), await provider(c), await provider(d)];
    await provider(stranger);
    const siblings = await db().prisma.$transaction(async (tx) => {
      const caught = (await loadProviderIdentities(tx, [pa])).get(pa)!;
      return loadSiblingCandidates(tx, caught, pa, false);
    });
    expect([...siblings.keys()]).toEqual([pb]);
    const tonSiblings = await db().prisma.$transaction(async (tx) => loadSiblingCandidates(tx, (await loadProviderIdentities(tx, [pc])).get(pc)!, pc, false));
    expect([...tonSiblings.keys()]).toEqual([pd]);

    // A result's credit reads the requester and the providers in one statement: the same identities.
    const both = await db().prisma.$transaction((tx) => loadRequesterAndProviderIdentities(tx, c, [pa, pd]));
    const alone = await db().prisma.$transaction((tx) => loadProviderIdentities(tx, [pa, pd]));
    expect(both.requester).toEqual(ids[c]);
    expect(both.providers).toEqual(alone);
    expect(sameOperator(both.providers.get(pd)!, both.requester)).toBe(true);
    expect(sameOperator(both.providers.get(pa)!, both.requester)).toBe(false);
  });
});
