/** `stun keys list|create|revoke|rotate`: the account's API keys (docs/CONCEPTS.md "API keys: scopes, expiry, revocation"). */
import { KEY_SCOPES, type KeyScope } from "@stun/shared";
import type { ApiKeyInfo, NewApiKey } from "../client";
import { saveConfig } from "./config";
import { flag, intOption, list, UsageError, type Command, type Context } from "./context";
import { keyValues, printList } from "./format";

function scopesOf(ctx: Context): KeyScope[] {
  const scopes = list(ctx, "scope")
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) throw new UsageError(`--scope is required: one or more of ${KEY_SCOPES.join(", ")}`);
  for (const s of scopes) if (!(KEY_SCOPES as readonly string[]).includes(s)) throw new UsageError(`unknown scope ${JSON.stringify(s)}: one of ${KEY_SCOPES.join(", ")}`);
  return scopes as KeyScope[];
}

const keyRows = (k: ApiKeyInfo): [string, string][] => [
  ["id", k.id],
  ["name", k.name],
  ["prefix", k.prefix],
  ["scopes", k.scopes.join(",")],
  ["status", k.status],
  ["expiresAt", k.expiresAt ?? "never"],
];

/** Prints a new key (its secret once) and, with --save, stores it as the CLI's key. */
async function printNewKey(ctx: Context, made: NewApiKey): Promise<void> {
  const save = flag(ctx, "save");
  if (save) await saveConfig(ctx.configPath, { server: ctx.server, apiKey: made.apiKey });
  if (ctx.json) return ctx.printJson({ ...made, ...(save ? { configPath: ctx.configPath } : {}) });
  ctx.out(keyValues([["apiKey", made.apiKey], ...keyRows(made.key)]));
  ctx.out(save ? `saved to ${ctx.configPath}` : "the key is shown only this once: store it now (or pass --save)");
}

const SAVE_HELP = "--save writes the new key to the config file, so later commands use it.";

export const keyCommands: Command[] = [
  {
    path: ["keys", "list"],
    summary: "list your account's API keys (no secrets)",
    synopsis: "[--limit N]",
    options: { limit: { type: "string" } },
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const limit = intOption(ctx, "limit", 1, 500);
      const keys = await ctx.client().listKeys(limit !== undefined ? { limit } : {});
      printList(ctx, {
        key: "keys",
        items: keys,
        empty: "no API keys",
        header: ["ID", "NAME", "PREFIX", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED"],
        row: (k) => [k.id, k.name, k.prefix, k.scopes.join(","), k.status, k.createdAt, k.expiresAt ?? "never", k.lastUsedAt ?? "-"],
      });
    },
  },
  {
    path: ["keys", "create"],
    summary: "create a named API key with scopes (shown once)",
    synopsis: "<name> --scope SCOPE [--scope SCOPE…] [--expires-in SECONDS] [--save]",
    help: `SCOPE: admin (everything), requester (submit tasks, upload models), provider (connect as a\nprovider, stake), read (GET only); at most your own key's scopes. ${SAVE_HELP}`,
    options: { scope: { type: "string", multiple: true }, "expires-in": { type: "string" }, save: { type: "boolean" } },
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const scopes = scopesOf(ctx);
      const expiresInSeconds = intOption(ctx, "expires-in", 60, 10 * 365 * 24 * 3600);
      const made = await ctx.client().createKey({ name: ctx.positionals[0]!, scopes, ...(expiresInSeconds !== undefined ? { expiresInSeconds } : {}) });
      await printNewKey(ctx, made);
    },
  },
  {
    path: ["keys", "revoke"],
    summary: "revoke an API key (refused at once everywhere)",
    synopsis: "<key-id>",
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const key = await ctx.client().revokeKey(ctx.positionals[0]!);
      if (ctx.json) return ctx.printJson({ key });
      ctx.out(keyValues(keyRows(key)));
    },
  },
  {
    path: ["keys", "rotate"],
    summary: "replace an API key by a new one with the same name and scopes",
    synopsis: "<key-id> [--grace SECONDS] [--save]",
    help: `The old key is revoked at once, or with --grace keeps working that long (at most 86400). ${SAVE_HELP}`,
    options: { grace: { type: "string" }, save: { type: "boolean" } },
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const graceSeconds = intOption(ctx, "grace", 0, 86_400);
      await printNewKey(ctx, await ctx.client().rotateKey(ctx.positionals[0]!, graceSeconds !== undefined ? { graceSeconds } : {}));
    },
  },
];
