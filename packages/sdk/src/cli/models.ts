/** `stun models upload|list|get`. */
import type { Model } from "../client";
import { str, type Command, type Context } from "./context";
import { formatDims, keyValues, printList } from "./format";

const signature = (infos: Model["inputs"]): string => infos.map((i) => `${i.name}: ${i.dtype} ${formatDims(i.shape)}`).join(", ") || "-";

function printModel(ctx: Context, m: Model): void {
  if (ctx.json) return ctx.printJson(m);
  ctx.out(
    keyValues([
      ["id", m.id],
      ["name", m.name],
      ["sha256", m.sha256],
      ["size", `${m.sizeBytes} bytes`],
      ["inputs", signature(m.inputs)],
      ["outputs", signature(m.outputs)],
      ["owner", m.ownerId],
      ["created", m.createdAt],
    ]),
  );
}

export const modelCommands: Command[] = [
  {
    path: ["models", "upload"],
    summary: "upload an ONNX model",
    synopsis: "<file.onnx> [--name N]",
    help: "The name defaults to the file's name without .onnx.",
    options: { name: { type: "string" } },
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const file = ctx.positionals[0]!;
      const name = str(ctx, "name");
      const model = await ctx.client().uploadModel(ctx.resolvePath(file), name !== undefined ? { name } : {});
      printModel(ctx, model);
    },
  },
  {
    path: ["models", "list"],
    summary: "list models",
    synopsis: "",
    options: {},
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const models = await ctx.client().listModels();
      printList(ctx, {
        key: "models",
        items: models,
        empty: "no models",
        header: ["ID", "NAME", "SIZE", "INPUTS", "OUTPUTS"],
        row: (m) => [m.id, m.name, String(m.sizeBytes), signature(m.inputs), signature(m.outputs)],
      });
    },
  },
  {
    path: ["models", "get"],
    summary: "show one model",
    synopsis: "<id>",
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      printModel(ctx, await ctx.client().getModel(ctx.positionals[0]!));
    },
  },
  {
    path: ["models", "zk"],
    summary: "can tasks on this model use verification zk? (its circuit's state, size and proving fee)",
    synopsis: "<id>",
    help: "The first call starts building the circuit; `ready` means zk tasks on it run now.",
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const z = await ctx.client().getModelZk(ctx.positionals[0]!);
      if (ctx.json) return ctx.printJson(z);
      const rows: [string, string | undefined][] = [
        ["model", z.modelId],
        ["status", z.status],
        ["reason", z.message],
        ["constraints", z.constraints?.toString()],
        ["proving fee", z.fee !== undefined ? `${z.fee} per execution` : undefined],
        ["model hash", z.modelHash],
      ];
      ctx.out(keyValues(rows.filter((r): r is [string, string] => r[1] !== undefined)));
    },
  },
];
