/** `stun providers`, `stun stats`, `stun health`. */
import type { Command } from "./context";
import { keyValues, printList } from "./format";

export const networkCommands: Command[] = [
  {
    path: ["providers"],
    summary: "list connected providers",
    synopsis: "",
    options: {},
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const providers = await ctx.client().providers();
      printList(ctx, {
        key: "providers",
        items: providers,
        empty: "no providers online",
        header: ["ID", "NAME", "KIND", "BACKEND", "REGION", "PRICE", "REPUTATION", "LOAD", "DONE"],
        row: (p) => [p.id, p.name, p.kind, p.backend, p.region, String(p.price), p.reputation.toFixed(3), `${p.load}/${p.slots}`, String(p.tasksCompleted)],
      });
    },
  },
  {
    path: ["stats"],
    summary: "show network statistics",
    synopsis: "",
    options: {},
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const stats = await ctx.client().stats();
      if (ctx.json) return ctx.printJson(stats);
      const tasks =
        Object.entries(stats.tasks)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "none";
      ctx.out(
        keyValues([
          ["providersOnline", String(stats.providersOnline)],
          ["models", String(stats.models)],
          ["tasks", tasks],
          ["volume", String(stats.volume)],
        ]),
      );
    },
  },
  {
    path: ["health"],
    summary: "check that the server answers, and how many providers are online",
    synopsis: "",
    options: {},
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const health = await ctx.client(false).health();
      if (ctx.json) return ctx.printJson(health);
      ctx.out(`${ctx.server}: ${health.status}, ${health.providers.online} provider${health.providers.online === 1 ? "" : "s"} online`);
    },
  },
];
