import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { base58 } from "@scure/base";
import { type Address as TonAddress, Address, Cell } from "@ton/core";
import { forwardPayloadAccount } from "@stun/contracts-ton";

/**
 * What the Solana and TON rails and the web app's deposit buttons reach over HTTP, served from
 * the test process on 127.0.0.1 (no validator or TON node runs here): a Solana JSON-RPC answering
 * `getLatestBlockhash` and `getTokenAccountBalance` and recording `sendTransaction`, and a toncenter v3 answering the jetton
 * wallet index from `jettonWallets` and an empty transaction list. Everything else is a JSON-RPC
 * "method not found" / HTTP 501, which the rails log as a failed pass and retry. CORS is open, as
 * public RPC endpoints are, since browsers call it from the web app's origin.
 */
export interface ChainStandIn {
  /** The Solana JSON-RPC endpoint. */
  solanaRpcUrl: string;
  /** The toncenter API root. */
  tonApiUrl: string;
  /** The base64 transactions sent with `sendTransaction`, in order. */
  solanaSent: string[];
  /** owner (raw `0:…`) → its jetton wallet (raw) for the configured master, and that wallet's balance. */
  jettonWallets: Map<string, { address: string; balance: bigint }>;
  /** JSON-RPC methods asked, in order. */
  solanaMethods: string[];
  /** token account → its balance in base units (`getTokenAccountBalance`; others do not exist). */
  solanaTokenBalances: Map<string, bigint>;
  /** Addresses getAccountInfo answers as mints (6 decimals), with the token program owning each (railsEnv registers its mint under SPL Token). */
  solanaMints: Map<string, string>;
  close(): Promise<void>;
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

export async function startChainStandIn(): Promise<ChainStandIn> {
  const solanaSent: string[] = [];
  const solanaMethods: string[] = [];
  const jettonWallets = new Map<string, { address: string; balance: bigint }>();
  const solanaTokenBalances = new Map<string, bigint>();
  const solanaMints = new Map<string, string>();
  const blockhash = base58.encode(randomBytes(32));
  const server: Server = createServer(async (req, res) => {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-allow-headers", "content-type, solana-client, x-api-key");
    res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
    if (req.method === "OPTIONS") return void res.writeHead(204).end();
    const url = new URL(req.url ?? "/", "http://stand-in");
    const json = (status: number, body: unknown) => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/solana" && req.method === "POST") {
      const call = JSON.parse(await readBody(req)) as { id: unknown; method: string; params?: unknown[] };
      solanaMethods.push(call.method);
      const ok = (result: unknown) => json(200, { jsonrpc: "2.0", id: call.id, result });
      if (call.method === "getLatestBlockhash") return ok({ context: { slot: 100 }, value: { blockhash, lastValidBlockHeight: 1_000 } });
      if (call.method === "getSignaturesForAddress") return ok([]);
      if (call.method === "getAccountInfo") {
        // The rail reads its mint at start: a registered mint is an initialized mint of its program (82 bytes, 6 decimals); anything else does not exist.
        const program = solanaMints.get(String(call.params?.[0]));
        if (!program) return ok({ context: { slot: 100 }, value: null });
        const data = Buffer.alloc(82);
        data[44] = 6;
        data[45] = 1;
        return ok({
          context: { slot: 100 },
          value: { data: [data.toString("base64"), "base64"], executable: false, lamports: 1_461_600, owner: program, rentEpoch: 0, space: 82 },
        });
      }
      if (call.method === "getTokenAccountBalance") {
        const balance = solanaTokenBalances.get(String(call.params?.[0]));
        if (balance === undefined) return json(200, { jsonrpc: "2.0", id: call.id, error: { code: -32602, message: "Invalid param: could not find account" } });
        return ok({ context: { slot: 100 }, value: { amount: balance.toString(), decimals: 6, uiAmount: null, uiAmountString: "" } });
      }
      if (call.method === "sendTransaction") {
        const wire = Buffer.from(String(call.params?.[0]), "base64");
        solanaSent.push(wire.toString("base64"));
        return ok(base58.encode(wire.subarray(1, 65)));
      }
      return json(200, { jsonrpc: "2.0", id: call.id, error: { code: -32601, message: `the stand-in has no ${call.method}` } });
    }
    if (url.pathname === "/ton/api/v3/transactions") return json(200, { transactions: [] });
    if (url.pathname === "/ton/api/v3/jetton/wallets") {
      const owner = url.searchParams.get("owner_address") ?? "";
      const wallet = jettonWallets.get(Address.parse(owner).toRawString());
      return json(200, { jetton_wallets: wallet ? [{ address: wallet.address, balance: wallet.balance.toString() }] : [] });
    }
    json(501, { error: `the stand-in does not serve ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    solanaRpcUrl: `${root}/solana`,
    tonApiUrl: `${root}/ton`,
    solanaSent,
    solanaMethods,
    solanaTokenBalances,
    solanaMints,
    jettonWallets,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface RailsSetup {
  env: Record<string, string>;
  solanaMint: string;
  solanaDepositOwner: string;
  tonMarketplace: Address;
  tonJettonMaster: Address;
}

const secretFile = (dir: string, name: string, content: unknown): string => {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  chmodSync(file, 0o600);
  return file;
};

/**
 * SOLANA_* and TON_* for a server whose rails read `standIn`: mainnet networks, fresh addresses,
 * payout keys (so both families pay out), and a poll interval long enough that only the start's
 * pass runs during a test (payouts stay `pending`).
 */
export function railsEnv(standIn: ChainStandIn, tokenProgram = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"): RailsSetup {
  const dir = mkdtempSync(path.join(tmpdir(), "stun-rails-"));
  const seed = randomBytes(32);
  const solanaKey = [...seed, ...ed25519.getPublicKey(seed)];
  const solanaMint = base58.encode(randomBytes(32));
  standIn.solanaMints.set(solanaMint, tokenProgram);
  const solanaDepositOwner = base58.encode(randomBytes(32));
  const tonMarketplace = new Address(0, randomBytes(32));
  const tonJettonMaster = new Address(0, randomBytes(32));
  return {
    solanaMint,
    solanaDepositOwner,
    tonMarketplace,
    tonJettonMaster,
    env: {
      SOLANA_RPC_URL: standIn.solanaRpcUrl,
      SOLANA_NETWORK: "mainnet-beta",
      SOLANA_MINT: solanaMint,
      SOLANA_DEPOSIT_OWNER: solanaDepositOwner,
      SOLANA_SETTLEMENT_KEY: secretFile(dir, "solana.json", solanaKey),
      SOLANA_POLL_MS: "3600000",
      TON_API_URL: standIn.tonApiUrl,
      TON_NETWORK: "mainnet",
      TON_MARKETPLACE: tonMarketplace.toString(),
      TON_JETTON_MASTER: tonJettonMaster.toString(),
      TON_WALLET_KEY: secretFile(dir, "ton-wallet.json", randomBytes(32).toString("hex")),
      TON_SETTLER_KEYS: secretFile(dir, "ton-settlers.json", [randomBytes(32).toString("hex")]),
      TON_POLL_MS: "3600000",
    },
  };
}

/** A TEP-74 jetton `transfer` body (base64 BOC), read field by field, with the account its forward payload names. */
export function readJettonTransfer(boc: string): { op: number; amount: bigint; destination: TonAddress; responseDestination: TonAddress; forwardTonAmount: bigint; account: string | undefined } {
  const s = Cell.fromBase64(boc).beginParse();
  const op = s.loadUint(32);
  s.loadUintBig(64);
  const amount = s.loadCoins();
  const destination = s.loadAddress();
  const responseDestination = s.loadAddress();
  if (s.loadBit()) s.loadRef(); // custom_payload
  const forwardTonAmount = s.loadCoins();
  return { op, amount, destination, responseDestination, forwardTonAmount, account: forwardPayloadAccount(s) };
}
