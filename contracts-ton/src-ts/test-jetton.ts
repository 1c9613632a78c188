/**
 * Wrappers of the test-only TEP-74 jetton (src/test-jetton-*.tolk): a minter whose admin mints to
 * any owner, and the standard wallet's `transfer`. Only tests and the fee bench use them.
 */
import { type Address, beginCell, type Cell, type Contract, type ContractProvider, contractAddress, type Sender, SendMode, type StateInit } from "@ton/core";

export const JettonOp = { mint: 0x4d494e54, transfer: 0x0f8a7ea5 } as const;

/** The forward payload field of a transfer when there is none: Either bit 0, nothing inline. */
export const EMPTY_FORWARD_PAYLOAD = beginCell().storeBit(false).endCell();

export class TestJettonMinter implements Contract {
  constructor(
    readonly address: Address,
    readonly init?: StateInit,
  ) {}

  static create(admin: Address, walletCode: Cell, minterCode: Cell): TestJettonMinter {
    const data = beginCell().storeCoins(0n).storeAddress(admin).storeRef(walletCode).endCell();
    const init = { code: minterCode, data };
    return new TestJettonMinter(contractAddress(0, init), init);
  }

  async sendDeploy(provider: ContractProvider, via: Sender, value: bigint): Promise<void> {
    await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: beginCell().endCell() });
  }

  /** Mints `amount` to `to`'s wallet (admin only); `forwardTonAmount` > 0 notifies `to`. */
  async sendMint(provider: ContractProvider, via: Sender, args: { to: Address; amount: bigint; value?: bigint; forwardTonAmount?: bigint; forwardPayload?: Cell }): Promise<void> {
    const body = beginCell()
      .storeUint(JettonOp.mint, 32)
      .storeUint(0, 64)
      .storeAddress(args.to)
      .storeCoins(args.amount)
      .storeCoins(args.forwardTonAmount ?? 0n)
      .storeSlice((args.forwardPayload ?? EMPTY_FORWARD_PAYLOAD).beginParse())
      .endCell();
    await provider.internal(via, { value: args.value ?? 200_000_000n, sendMode: SendMode.PAY_GAS_SEPARATELY, body });
  }

  async getWalletAddress(provider: ContractProvider, owner: Address): Promise<Address> {
    const { stack } = await provider.get("get_wallet_address", [{ type: "slice", cell: beginCell().storeAddress(owner).endCell() }]);
    return stack.readAddress();
  }
}

export class TestJettonWallet implements Contract {
  constructor(readonly address: Address) {}

  /**
   * TEP-74 transfer of `amount` to `to` (its wallet gets the jettons; `to` gets a
   * transfer_notification carrying `forwardTonAmount` and `forwardPayload` when forwardTonAmount > 0).
   * `forwardPayload` is the Either Cell ^Cell field as a whole (see depositForwardPayload).
   */
  async sendTransfer(
    provider: ContractProvider,
    via: Sender,
    args: { to: Address; amount: bigint; responseTo?: Address; forwardTonAmount: bigint; forwardPayload?: Cell; value?: bigint; queryId?: bigint },
  ): Promise<void> {
    const body = beginCell()
      .storeUint(JettonOp.transfer, 32)
      .storeUint(args.queryId ?? 0n, 64)
      .storeCoins(args.amount)
      .storeAddress(args.to)
      .storeAddress(args.responseTo ?? null)
      .storeMaybeRef(null)
      .storeCoins(args.forwardTonAmount)
      .storeSlice((args.forwardPayload ?? EMPTY_FORWARD_PAYLOAD).beginParse())
      .endCell();
    await provider.internal(via, { value: args.value ?? 200_000_000n, sendMode: SendMode.PAY_GAS_SEPARATELY, body });
  }

  /** The wallet's jetton balance (0 when the wallet is not deployed). */
  async getBalance(provider: ContractProvider): Promise<bigint> {
    const state = await provider.getState();
    if (state.state.type !== "active") return 0n;
    const { stack } = await provider.get("get_wallet_data", []);
    return stack.readBigNumber();
  }
}
