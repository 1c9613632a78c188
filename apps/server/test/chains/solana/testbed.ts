/**
 * A Solana world on litesvm for the tests and bench/solana-fees.ts: a mint (6 decimals; SPL Token,
 * or Token-2022 with an optional transfer fee — litesvm ships both programs), the
 * marketplace's deposit token account (the deposit owner's ATA), a settlement key with a funded
 * token account, and helpers to make users and send deposits (SPL TransferChecked + a Memo).
 */
import {
  type Address,
  type Instruction,
  type KeyPairSigner,
  type TransactionSigner,
  address,
  appendTransactionMessageInstructions,
  createTransactionMessage,
  generateKeyPairSigner,
  getSignatureFromTransaction,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Blockhash,
  AccountRole,
} from "@solana/kit";
import { getAddMemoInstruction } from "@solana-program/memo";
import { getCreateAccountInstruction } from "@solana-program/system";
import { getCreateAssociatedTokenIdempotentInstruction, getInitializeMint2Instruction, getMintSize, getMintToCheckedInstruction, getTransferCheckedInstruction } from "@solana-program/token";
import { MEMO_PROGRAM_V1, TOKEN_PROGRAM, type TokenProgram } from "../../../src/chains/solana/chain";
import { associatedTokenAccount } from "../../../src/chains/solana/payouts";
import { LiteSvmChain } from "./litesvm-chain";

export const DECIMALS = 6;

/** A Token-2022 transfer fee for a test mint. */
export interface TestTransferFee {
  basisPoints: number;
  maximumFee: bigint;
}

export interface MintOptions {
  /** The mint's owner program (default SPL Token). */
  tokenProgram?: TokenProgram;
  /** Token-2022 only: a TransferFeeConfig extension. */
  transferFee?: TestTransferFee;
}

/**
 * Token-2022 `InitializeTransferFeeConfig` (TransferFeeExtension 26, sub-instruction 0): no config or
 * withdraw authority (COption None: one 0 byte each), basis points u16, maximum fee u64. Token-2022's
 * TS client does not install beside this kit, and the encoding is this small.
 */
export function initializeTransferFeeConfig(mint: Address, fee: TestTransferFee): Instruction {
  const data = new Uint8Array(14);
  const view = new DataView(data.buffer);
  data.set([26, 0, 0, 0]);
  view.setUint16(4, fee.basisPoints, true);
  view.setBigUint64(6, fee.maximumFee, true);
  return { programAddress: address(TOKEN_2022), accounts: [{ address: mint, role: AccountRole.WRITABLE }], data };
}

const TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
/** A Token-2022 mint with a TransferFeeConfig: 82-byte base, padding to 165, account type, TLV (2 + 2 + 108). */
const MINT_WITH_TRANSFER_FEE_SIZE = 278n;

export interface Testbed {
  chain: LiteSvmChain;
  payer: KeyPairSigner;
  mint: Address;
  /** The mint's owner program. */
  tokenProgram: TokenProgram;
  depositOwner: KeyPairSigner;
  depositAccount: Address;
  settlement: KeyPairSigner;
  /** Sends instructions in one transaction; returns its signature (throws unless it landed). */
  send(feePayer: TransactionSigner, ixs: Instruction[]): Promise<string>;
  newMint(opts?: MintOptions): Promise<Address>;
  /** Creates `owner`'s ATA of `mint` (idempotent) and mints `tokens` into it; returns the ATA. */
  fund(owner: Address, tokens: bigint, mint?: Address): Promise<Address>;
  /** A wallet with SOL and `tokens` of `mint` in its ATA. */
  newUser(tokens: bigint, mint?: Address): Promise<KeyPairSigner>;
  /** Token balance of an owner's ATA (0 when it does not exist). */
  balance(owner: string, mint?: Address): Promise<bigint>;
  /** A deposit: TransferChecked of `amount` to the owner's ATA of `mint`, plus a Memo when `memo` is given. */
  deposit(user: KeyPairSigner, amount: bigint, memo: string | null, mint?: Address): Promise<string>;
}

/** A world around one mint: SPL Token by default, or Token-2022 (with a transfer fee when given). */
export async function createTestbed(opts: MintOptions = {}): Promise<Testbed> {
  const chain = new LiteSvmChain();
  const payer = await generateKeyPairSigner();
  const depositOwner = await generateKeyPairSigner();
  const settlement = await generateKeyPairSigner();
  chain.svm.airdrop(payer.address, lamports(100_000_000_000n));
  chain.svm.airdrop(settlement.address, lamports(10_000_000_000n));

  const send = async (feePayer: TransactionSigner, ixs: Instruction[]) => {
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(feePayer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: chain.svm.latestBlockhash() as Blockhash, lastValidBlockHeight: 0n }, m),
      (m) => appendTransactionMessageInstructions(ixs, m),
    );
    const tx = await signTransactionMessageWithSigners(message);
    const rec = chain.sendKit(tx);
    if (rec.err) throw new Error(`transaction failed: ${rec.err}`);
    return getSignatureFromTransaction(tx);
  };

  /** The owner program of each mint made here. */
  const programOf = new Map<string, TokenProgram>();
  const newMint = async ({ tokenProgram = TOKEN_PROGRAM, transferFee }: MintOptions = {}) => {
    const mint = await generateKeyPairSigner();
    const space = transferFee ? MINT_WITH_TRANSFER_FEE_SIZE : BigInt(getMintSize());
    const programAddress = address(tokenProgram);
    await send(payer, [
      getCreateAccountInstruction({ payer, newAccount: mint, lamports: chain.svm.minimumBalanceForRentExemption(space), space, programAddress }),
      ...(transferFee ? [initializeTransferFeeConfig(mint.address, transferFee)] : []),
      getInitializeMint2Instruction({ mint: mint.address, decimals: DECIMALS, mintAuthority: payer.address }, { programAddress }),
    ]);
    programOf.set(mint.address, tokenProgram);
    return mint.address;
  };
  const ataOf = (owner: string, m: Address) => associatedTokenAccount(owner, m, programOf.get(m) ?? TOKEN_PROGRAM);

  const fund = async (owner: Address, tokens: bigint, mint: Address = mintAddress()) => {
    const ata = await ataOf(owner, mint);
    const tokenProgram = address(programOf.get(mint) ?? TOKEN_PROGRAM);
    const ixs: Instruction[] = [getCreateAssociatedTokenIdempotentInstruction({ payer, ata, owner, mint, tokenProgram })];
    if (tokens > 0n) ixs.push(getMintToCheckedInstruction({ mint, token: ata, mintAuthority: payer, amount: tokens, decimals: DECIMALS }, { programAddress: tokenProgram }));
    await send(payer, ixs);
    return ata;
  };

  let mintSet: Address | undefined;
  const mintAddress = () => mintSet!;
  const tokenProgram = opts.tokenProgram ?? TOKEN_PROGRAM;
  const mint = await newMint(opts);
  mintSet = mint;
  const depositAccount = await fund(depositOwner.address, 0n, mint);
  await fund(settlement.address, 1_000_000_000n, mint);

  const balance = async (owner: string, m = mint) => {
    const acc = chain.svm.getAccount(await ataOf(owner, m));
    return acc.exists ? new DataView(acc.data.buffer, acc.data.byteOffset + 64, 8).getBigUint64(0, true) : 0n;
  };

  return {
    chain,
    payer,
    mint,
    tokenProgram,
    depositOwner,
    depositAccount,
    settlement,
    send,
    newMint,
    fund,
    async newUser(tokens, m = mint) {
      const user = await generateKeyPairSigner();
      chain.svm.airdrop(user.address, lamports(1_000_000_000n));
      await fund(user.address, tokens, m);
      return user;
    },
    balance,
    async deposit(user, amount, memo, m = mint) {
      const source = await ataOf(user.address, m);
      const destination = await ataOf(depositOwner.address, m);
      const program = address(programOf.get(m) ?? TOKEN_PROGRAM);
      const ixs: Instruction[] = [];
      if (m !== mint) ixs.push(getCreateAssociatedTokenIdempotentInstruction({ payer: user, ata: destination, owner: depositOwner.address, mint: m, tokenProgram: program }));
      ixs.push(getTransferCheckedInstruction({ source, mint: m, destination, authority: user, amount, decimals: DECIMALS }, { programAddress: program }));
      // litesvm 1.5 runs the bundled Memo v1 program (its Memo v2 build fails to load): the source reads both.
      if (memo !== null) ixs.push({ ...getAddMemoInstruction({ memo }), programAddress: address(MEMO_PROGRAM_V1) });
      return send(user, ixs);
    },
  };
}
