/** `stun account create|show|ledger`, `stun faucet`, `stun stake` and `stun unstake`. */
import { StunClient, type Account } from "../client";
import { saveConfig } from "./config";
import { flag, intOption, str, UsageError, type Command, type Context } from "./context";
import { keyValues, printList } from "./format";

function printAccount(ctx: Context, account: Account): void {
  if (ctx.json) return ctx.printJson(account);
  ctx.out(
    keyValues([
      ["accountId", account.accountId],
      ["balance", String(account.balance)],
      ["escrow", String(account.escrow)],
      ["stake", String(account.stake)],
    ]),
  );
}

/** The one positional of faucet/stake/unstake: an integer of base units. */
function amountArg(ctx: Context): bigint {
  const amount = ctx.positionals[0]!;
  if (!/^(0|[1-9]\d*)$/.test(amount)) throw new UsageError(`amount must be a non-negative integer of base units, got ${JSON.stringify(amount)}`);
  return BigInt(amount);
}

export const accountCommands: Command[] = [
  {
    path: ["account", "create"],
    summary: "create an account and save its API key to the config file",
    synopsis: "[--server URL] [--no-save]",
    help: "Prints the account id and API key and saves both (with the server) to the config file,\nso later commands need no --api-key. --no-save only prints them.",
    options: { "no-save": { type: "boolean" } },
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const created = await StunClient.createAccount(ctx.server);
      const save = !flag(ctx, "no-save");
      if (save) await saveConfig(ctx.configPath, { server: ctx.server, accountId: created.accountId, apiKey: created.apiKey });
      if (ctx.json) return ctx.printJson({ ...created, server: ctx.server, ...(save ? { configPath: ctx.configPath } : {}) });
      ctx.out(
        keyValues([
          ["accountId", created.accountId],
          ["apiKey", created.apiKey],
          ["server", ctx.server],
        ]),
      );
      ctx.out(save ? `saved to ${ctx.configPath}` : "not saved (--no-save): pass --api-key or set STUN_API_KEY");
    },
  },
  {
    path: ["account", "show"],
    summary: "show the balance, escrow and stake of your account",
    synopsis: "",
    options: {},
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      printAccount(ctx, await ctx.client().account());
    },
  },
  {
    path: ["account", "ledger"],
    summary: "list your ledger entries, newest first",
    synopsis: "[--limit N] [--before ENTRY_ID]",
    options: { limit: { type: "string" }, before: { type: "string" } },
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const limit = intOption(ctx, "limit", 1, 500);
      const before = str(ctx, "before");
      if (before !== undefined && !/^\d+$/.test(before)) throw new UsageError(`--before must be a ledger entry id (digits), got ${JSON.stringify(before)}`);
      const entries = await ctx.client().ledger({ ...(limit !== undefined ? { limit } : {}), ...(before !== undefined ? { before } : {}) });
      printList(ctx, {
        key: "entries",
        items: entries,
        empty: "no ledger entries",
        header: ["ID", "AMOUNT", "KIND", "TASK", "CREATED"],
        row: (e) => [e.id, String(e.amount), e.kind, e.taskId ?? "-", e.createdAt],
      });
    },
  },
  {
    path: ["faucet"],
    summary: "credit your account with test funds (servers in local mode)",
    synopsis: "<amount>",
    help: "AMOUNT is an integer number of base units.",
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      printAccount(ctx, await ctx.client().faucet(amountArg(ctx)));
    },
  },
  {
    path: ["stake"],
    summary: "move funds from your balance to your stake (providers need stake for paid work)",
    synopsis: "<amount>",
    help: "AMOUNT is an integer number of base units. Paid work goes to a provider account only while its stake\ncovers 10 × the prices of its live executions plus the new one.",
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      printAccount(ctx, await ctx.client().stake(amountArg(ctx)));
    },
  },
  {
    path: ["unstake"],
    summary: "move funds from your stake back to your balance",
    synopsis: "<amount>",
    help: "AMOUNT is an integer number of base units. The part of the stake backing your providers' live\nexecutions stays staked (error STAKE_LOCKED).",
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      printAccount(ctx, await ctx.client().unstake(amountArg(ctx)));
    },
  },
];
