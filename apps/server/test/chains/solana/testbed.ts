/**
 * A Solana world on litesvm for the tests and bench/solana-fees.ts: a mint (6 decimals), the
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
} from "@solana/kit";
import { getAddMemoInstruction } from "@solana-program/memo";
import { getCreateAccountInstruction } from "@solana-program/system";
import {
  TOKEN_PROGRAM_ADDRESS,
  getCreateAssociatedTokenIdempotentInstruction,
  getInitializeMint2Instruction,
  getMintSize,
  getMintToCheckedInstruction,
  getTransferCheckedInstruction,
} from "@solana-program/token";
import { MEMO_PROGRAM_V1 } from "../../../src/chains/solana/chain";
import { associatedTokenAccount } from "../../../src/chains/solana/payouts";
import { LiteSvmChain } from "./litesvm-chain";

export const DECIMALS = 6;

export interface Testbed {
  chain: LiteSvmChain;
  payer: KeyPairSigner;
  mint: Address;
  depositOwner: KeyPairSigner;
  depositAccount: Address;
  settlement: KeyPairSigner;
  /** Sends instructions in one transaction; returns its signature (throws unless it landed). */
  send(feePayer: TransactionSigner, ixs: Instruction[]): Promise<string>;
  newMint(): Promise<Address>;
  /** Creates `owner`'s ATA of `mint` (idempotent) and mints `tokens` into it; returns the ATA. */
  fund(owner: Address, tokens: bigint, mint?: Address): Promise<Address>;
  /** A wallet with SOL and `tokens` of `mint` in its ATA. */
  newUser(tokens: bigint, mint?: Address): Promise<KeyPairSigner>;
  /** Token balance of an owner's ATA (0 when it does not exist). */
  balance(owner: string, mint?: Address): Promise<bigint>;
  /** A deposit: TransferChecked of `amount` to the owner's ATA of `mint`, plus a Memo when `memo` is given. */
  deposit(user: KeyPairSigner, amount: bigint, memo: string | null, mint?: Address): Promise<string>;
}

export async function createTestbed(): Promise<Testbed> {
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

  const newMint = async () => {
    const mint = await generateKeyPairSigner();
    const space = BigInt(getMintSize());
    await send(payer, [
      getCreateAccountInstruction({ payer, newAccount: mint, lamports: chain.svm.minimumBalanceForRentExemption(space), space, programAddress: TOKEN_PROGRAM_ADDRESS }),
      getInitializeMint2Instruction({ mint: mint.address, decimals: DECIMALS, mintAuthority: payer.address }),
    ]);
    return mint.address;
  };

  const fund = async (owner: Address, tokens: bigint, mint: Address = mintAddress()) => {
    const ata = await associatedTokenAccount(owner, mint);
    const ixs: Instruction[] = [getCreateAssociatedTokenIdempotentInstruction({ payer, ata, owner, mint })];
    if (tokens > 0n) ixs.push(getMintToCheckedInstruction({ mint, token: ata, mintAuthority: payer, amount: tokens, decimals: DECIMALS }));
    await send(payer, ixs);
    return ata;
  };

  let mintSet: Address | undefined;
  const mintAddress = () => mintSet!;
  const mint = await newMint();
  mintSet = mint;
  const depositAccount = await fund(depositOwner.address, 0n, mint);
  await fund(settlement.address, 1_000_000_000n, mint);

  const balance = async (owner: string, m = mint) => {
    const acc = chain.svm.getAccount(await associatedTokenAccount(owner, m));
    return acc.exists ? new DataView(acc.data.buffer, acc.data.byteOffset + 64, 8).getBigUint64(0, true) : 0n;
  };

  return {
    chain,
    payer,
    mint,
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
      const source = await associatedTokenAccount(user.address, m);
      const destination = await associatedTokenAccount(depositOwner.address, m);
      const ixs: Instruction[] = [];
      if (m !== mint) ixs.push(getCreateAssociatedTokenIdempotentInstruction({ payer: user, ata: destination, owner: depositOwner.address, mint: m }));
      ixs.push(getTransferCheckedInstruction({ source, mint: m, destination, authority: user, amount, decimals: DECIMALS }));
      // litesvm 1.5 runs the bundled Memo v1 program (its Memo v2 build fails to load): the source reads both.
      if (memo !== null) ixs.push({ ...getAddMemoInstruction({ memo }), programAddress: address(MEMO_PROGRAM_V1) });
      return send(user, ixs);
    },
  };
}
