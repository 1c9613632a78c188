import type { BrowserContext } from "playwright-core";
import { type Hex, type PrivateKeyAccount, type TypedDataDefinition, createWalletClient, defineChain, hexToBigInt, http, numberToHex } from "viem";

/**
 * A test EIP-1193 wallet for real Chromium: `window.ethereum` in every page of a browser context,
 * backed by a viem local account in the test process. The page's requests cross an exposed
 * binding (`__stunTestWallet`): accounts and permissions, `personal_sign` and
 * `eth_signTypedData_v4` are answered by signing locally; `eth_sendTransaction` is prepared and
 * signed locally and sent raw to the chain's RPC; everything else is forwarded to the RPC.
 */
export interface TestWallet {
  account: PrivateKeyAccount;
  /** personal_sign requests seen, as text (e.g. the SIWE messages). */
  signedMessages: string[];
  /** Hashes of the transactions the wallet sent. */
  sentTransactions: Hex[];
  /** Every method the page called, in order. */
  calls: string[];
}

export interface TestWalletOptions {
  account: PrivateKeyAccount;
  /** The chain's JSON-RPC URL (anvil), and its id. */
  rpcUrl: string;
  chainId: number;
}

interface RpcError {
  code: number;
  message: string;
}

class WalletError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The page side: a minimal EIP-1193 provider that forwards `request` to the binding. */
const PAGE_SCRIPT = `(() => {
  const listeners = new Map();
  const emit = (event, value) => { for (const fn of listeners.get(event) ?? []) { try { fn(value); } catch (e) { console.warn(e); } } };
  const provider = {
    isStunTestWallet: true,
    async request({ method, params }) {
      const out = await window.__stunTestWallet({ method, params: params ?? [] });
      if (out.error) { const e = new Error(out.error.message); e.code = out.error.code; throw e; }
      if (out.event) emit(out.event.name, out.event.value);
      return out.result;
    },
    on(event, fn) { if (!listeners.has(event)) listeners.set(event, new Set()); listeners.get(event).add(fn); return provider; },
    removeListener(event, fn) { listeners.get(event)?.delete(fn); return provider; },
  };
  Object.defineProperty(window, "ethereum", { value: provider, configurable: true });
  window.dispatchEvent(new Event("ethereum#initialized"));
})();`;

/** Installs the wallet in every page of `context` (before any page script runs). */
export async function installTestWallet(context: BrowserContext, opts: TestWalletOptions): Promise<TestWallet> {
  const { account, rpcUrl, chainId } = opts;
  const chain = defineChain({ id: chainId, name: "test", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  const client = createWalletClient({ account, chain, transport: http(rpcUrl, { retryCount: 0 }) });
  const wallet: TestWallet = { account, signedMessages: [], sentTransactions: [], calls: [] };
  let connected = false;
  let rpcId = 0;

  const forward = async (method: string, params: unknown[]): Promise<unknown> => {
    const res = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }) });
    const body = (await res.json()) as { result?: unknown; error?: RpcError };
    if (body.error) throw new WalletError(body.error.code, body.error.message);
    return body.result;
  };

  const handle = async (method: string, params: any[]): Promise<unknown> => {
    const permissions = () => [{ parentCapability: "eth_accounts", caveats: [{ type: "restrictReturnedAccounts", value: [account.address.toLowerCase()] }] }];
    switch (method) {
      case "eth_requestAccounts":
        connected = true;
        return [account.address.toLowerCase()];
      case "eth_accounts":
        return connected ? [account.address.toLowerCase()] : [];
      case "wallet_requestPermissions":
        connected = true;
        return permissions();
      case "wallet_getPermissions":
        return connected ? permissions() : [];
      case "wallet_revokePermissions":
        connected = false;
        return null;
      case "eth_chainId":
        return numberToHex(chainId);
      case "net_version":
        return String(chainId);
      case "wallet_switchEthereumChain":
        if (Number(params[0]?.chainId) !== chainId) throw new WalletError(4902, `Unrecognized chain ID ${params[0]?.chainId}`);
        return null;
      case "wallet_addEthereumChain":
        return null;
      case "personal_sign": {
        const [data, address] = params as [Hex, string];
        if (address.toLowerCase() !== account.address.toLowerCase()) throw new WalletError(4100, "unknown account");
        wallet.signedMessages.push(Buffer.from(data.slice(2), "hex").toString("utf8"));
        return account.signMessage({ message: { raw: data } });
      }
      case "eth_signTypedData_v4": {
        const [address, json] = params as [string, string];
        if (address.toLowerCase() !== account.address.toLowerCase()) throw new WalletError(4100, "unknown account");
        const { types, domain, primaryType, message } = JSON.parse(json) as TypedDataDefinition & { types: Record<string, unknown> };
        const { EIP712Domain: _domainType, ...rest } = types;
        return account.signTypedData({ types: rest, domain, primaryType, message } as TypedDataDefinition);
      }
      case "eth_sendTransaction": {
        const tx = params[0] as { from?: string; to?: Hex; data?: Hex; value?: Hex; gas?: Hex };
        if (!connected) throw new WalletError(4100, "not connected");
        if (tx.from && tx.from.toLowerCase() !== account.address.toLowerCase()) throw new WalletError(4100, "unknown account");
        // viem fills nonce, fees, gas and the chain id, signs with the local key and sends it raw.
        const hash = await client.sendTransaction({
          to: tx.to ?? null,
          ...(tx.data ? { data: tx.data } : {}),
          ...(tx.value ? { value: hexToBigInt(tx.value) } : {}),
          ...(tx.gas ? { gas: hexToBigInt(tx.gas) } : {}),
        });
        wallet.sentTransactions.push(hash);
        return hash;
      }
      default:
        return forward(method, params);
    }
  };

  await context.exposeBinding("__stunTestWallet", async (_source, req: { method: string; params: any[] }) => {
    wallet.calls.push(req.method);
    try {
      return { result: (await handle(req.method, req.params)) ?? null };
    } catch (e) {
      const err = e as { code?: number; shortMessage?: string; message?: string };
      return { error: { code: typeof err.code === "number" ? err.code : -32603, message: err.shortMessage ?? err.message ?? String(e) } };
    }
  });
  await context.addInitScript(PAGE_SCRIPT);
  return wallet;
}
