/**
 * Deposits on Solana and TON as the caller sees them (docs/CHAIN.md "Solana", "TON"): where and how
 * to deposit to its account on each rail this server runs, the TonConnect message a TON wallet
 * sends to do it, and the deposits recorded for it.
 */
import { Address, beginCell, toNano } from "@ton/core";
import { depositForwardPayload, depositTagCell } from "@stun/contracts-ton";
import {
  StunError,
  type DepositInfoResponse,
  type ExternalDepositView,
  type SolanaDepositInfo,
  type TonBalance,
  type TonDepositInfo,
  type TonDepositMessage,
  type TonDepositMessageRequest,
} from "@stun/shared";
import type { SolanaConfig } from "../chains/solana/config";
import type { TonConfig } from "../chains/ton/config";
import { jettonWalletOf } from "../chains/ton/toncenter";
import type { AppContext } from "../context";

/** forward_ton_amount of a deposit: inside the contract's 0.01–0.05 TON. */
const TON_FORWARD_AMOUNT = toNano("0.02");
/** What the TonConnect message attaches: the forward amount plus the two jetton wallets' fees (the rest comes back to the sender). */
const TON_DEPOSIT_VALUE = toNano("0.1");
/** TEP-74 jetton `transfer`. */
const JETTON_TRANSFER = 0x0f8a7ea5;

function solanaInfo(cfg: SolanaConfig, mint: NonNullable<AppContext["solanaDeposit"]>, accountId: string): SolanaDepositInfo {
  return {
    network: cfg.network,
    rpcUrl: cfg.rpcUrl,
    mint: cfg.mint,
    tokenProgram: mint.tokenProgram,
    decimals: mint.decimals,
    depositOwner: cfg.depositOwner,
    depositAccount: mint.depositAccount,
    memo: accountId,
    confirmation: "finalized",
  };
}

function tonInfo(cfg: TonConfig, accountId: string): TonDepositInfo {
  const testOnly = cfg.network === "testnet";
  return {
    network: cfg.network,
    marketplace: Address.parse(cfg.marketplace).toString({ bounceable: true, testOnly }),
    jettonMaster: Address.parse(cfg.jettonMaster).toString({ bounceable: true, testOnly }),
    forwardPayload: depositForwardPayload(accountId).toBoc().toString("base64"),
    tagHex: depositTagCell(accountId).bits.toString().toLowerCase(),
    forwardTonAmount: TON_FORWARD_AMOUNT.toString(),
    confirmation: "masterchain",
  };
}

/** Per family, how the caller deposits to its account; null for a rail that is off here. */
export async function depositInfo(app: AppContext, accountId: string): Promise<DepositInfoResponse> {
  const { solana, ton } = app.config;
  return {
    accountId,
    solana: solana && app.solanaDeposit ? solanaInfo(solana, app.solanaDeposit, accountId) : null,
    ton: ton ? tonInfo(ton, accountId) : null,
    payoutFamilies: (["solana", "ton"] as const).filter((f) => app.payoutRails[f] !== undefined),
  };
}

function needTon(app: AppContext): TonConfig {
  if (!app.config.ton) throw new StunError("REQUIREMENTS_UNSATISFIABLE", "this server takes no TON deposits (TON_API_URL is not set)");
  return app.config.ton;
}

function parseTonOwner(text: string): Address {
  try {
    return Address.parse(text);
  } catch {
    throw new StunError("VALIDATION_FAILED", `owner: not a TON address: ${JSON.stringify(text.slice(0, 100))}`);
  }
}

async function jettonWalletOfOwner(ton: TonConfig, owner: Address, fetchImpl: typeof fetch) {
  try {
    return await jettonWalletOf(ton.apiUrl, ton.apiKey, owner.toRawString(), ton.jettonMaster, fetchImpl);
  } catch (e) {
    throw new StunError("UNAVAILABLE", `the TON API did not answer which jetton wallet ${owner.toRawString()} holds: ${(e as Error).message}`);
  }
}

/** The owner's balance of the accepted jetton, through the TON API (0 without a jetton wallet). */
export async function tonBalance(app: AppContext, owner: string, fetchImpl: typeof fetch = fetch): Promise<TonBalance> {
  const ton = needTon(app);
  const wallet = await jettonWalletOfOwner(ton, parseTonOwner(owner), fetchImpl);
  return { jettonWallet: wallet?.address ?? null, balance: (wallet?.balance ?? 0n).toString() };
}

/**
 * The message a TonConnect wallet sends to deposit `amount` jetton base units from `owner` to the
 * caller's account: a TEP-74 `transfer` to the owner's jetton wallet (found through the TON API),
 * destination the marketplace, excess back to the owner, the account's tag as forward payload.
 */
export async function tonDepositMessage(app: AppContext, accountId: string, input: TonDepositMessageRequest, fetchImpl: typeof fetch = fetch): Promise<TonDepositMessage> {
  const ton = needTon(app);
  const owner = parseTonOwner(input.owner);
  const wallet = await jettonWalletOfOwner(ton, owner, fetchImpl);
  if (!wallet) throw new StunError("INSUFFICIENT_FUNDS", `${owner.toRawString()} holds no jetton wallet of ${ton.jettonMaster}: it has none of the token to deposit`);
  const body = beginCell()
    .storeUint(JETTON_TRANSFER, 32)
    .storeUint(0, 64)
    .storeCoins(BigInt(input.amount))
    .storeAddress(Address.parse(ton.marketplace))
    .storeAddress(owner)
    .storeBit(false)
    .storeCoins(TON_FORWARD_AMOUNT)
    .storeSlice(depositForwardPayload(accountId).beginParse())
    .endCell();
  return { address: Address.parse(wallet.address).toString({ bounceable: true, testOnly: ton.network === "testnet" }), amount: TON_DEPOSIT_VALUE.toString(), payload: body.toBoc().toString("base64") };
}

/** Deposits credited to the account, and unmatched ones whose tag names it (another token, too large), newest first. */
export async function listExternalDeposits(app: AppContext, accountId: string): Promise<ExternalDepositView[]> {
  const rows = await app.db.prisma.externalDeposit.findMany({
    where: { OR: [{ accountId }, { accountId: null, accountTag: accountId }] },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 200,
  });
  return rows.map((r) => ({
    id: r.id,
    family: r.family,
    network: r.network,
    txId: r.txId,
    index: r.index,
    from: r.fromAddress,
    token: r.token,
    amount: r.amount,
    status: r.status,
    reason: r.reason,
    createdAt: r.createdAt.toISOString(),
  }));
}
