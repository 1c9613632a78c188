/** `stun tasks submit|get|list`. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeNpy, fromTypedArray, isTerminalStatus, TASK_STATUSES, VERIFICATION_MODES, type Dtype, type TaskStatus, type VerificationMode } from "@stun/shared";
import { outputsOf, type SubmitTaskOptions, type TaskInfo } from "../client";
import { StunApiError } from "../errors";
import { isDtype, type Tensor, type TensorInit } from "../tensors";
import { flag, intOption, list, secondsOption, str, UsageError, type Command, type Context } from "./context";
import { keyValues, printList, tensorPreview } from "./format";
import { loadInput, parseInputSpec } from "./inputs";

/** Default for `tasks submit --wait` without --timeout. */
const DEFAULT_WAIT_SECONDS = 600;

/** A file name for an output tensor: unsafe characters become "_", collisions get a suffix. */
export function outputFileNames(names: string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const name of names) {
    const base = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "_";
    let file = `${base}.npy`;
    for (let i = 2; used.has(file.toLowerCase()); i++) file = `${base}_${i}.npy`;
    used.add(file.toLowerCase());
    out.set(name, file);
  }
  return out;
}

/** Writes each output tensor as DIR/NAME.npy; returns output name → path. */
export async function writeOutputs(dir: string, outputs: Record<string, Tensor>): Promise<Record<string, string>> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new StunApiError(0, "FILE_ERROR", `cannot create ${dir}: ${(e as Error).message}`);
  }
  const files = outputFileNames(Object.keys(outputs));
  const written: Record<string, string> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const path = join(dir, files.get(name)!);
    try {
      await writeFile(path, encodeNpy(fromTypedArray(tensor, name)));
    } catch (e) {
      if (e instanceof StunApiError) throw e;
      throw new StunApiError(0, "FILE_ERROR", `cannot write ${path}: ${(e as Error).message}`);
    }
    written[name] = path;
  }
  return written;
}

function printTask(ctx: Context, info: TaskInfo, files?: Record<string, string>): void {
  if (ctx.json) return ctx.printJson(files ? { ...info, files } : info);
  const v = info.verification;
  const pairs: [string, string][] = [
    ["id", info.id],
    ["status", info.status],
    ["model", info.modelId],
    ["verification", `${v.mode}, ${v.replicas} replica${v.replicas === 1 ? "" : "s"}, ${v.outcome}`],
    ["cost", info.cost === null ? "-" : String(info.cost)],
    ["created", info.createdAt],
    ["completed", info.completedAt ?? "-"],
  ];
  if (info.error) pairs.push(["error", `${info.error.code}: ${info.error.message}`]);
  ctx.out(keyValues(pairs));
  const outputs = Object.entries(info.outputs ?? {});
  if (outputs.length > 0) {
    ctx.out("outputs:");
    const width = Math.max(...outputs.map(([n]) => n.length));
    for (const [name, t] of outputs) ctx.out(`  ${name.padEnd(width)}  ${tensorPreview(t)}${files?.[name] ? `  → ${files[name]}` : ""}`);
  }
}

/** Writes outputs when asked; a task without outputs (failed, expired, unfinished) is an error then. */
async function maybeWrite(ctx: Context, info: TaskInfo): Promise<Record<string, string> | undefined> {
  const dir = str(ctx, "output-dir");
  if (dir === undefined) return undefined;
  return writeOutputs(ctx.resolvePath(dir), outputsOf(info));
}

export const taskCommands: Command[] = [
  {
    path: ["tasks", "submit"],
    summary: "submit an inference task",
    synopsis:
      "--model ID --input NAME=SPEC [--input …] [--dtype D] [--verification none|redundant|auto|zk] [--replicas N]\n" +
      "      [--argmax] [--max-price AMOUNT] [--deadline S] [--priority 0-9] [--wait] [--timeout S] [--output-dir DIR]\n" +
      "      [--tee [--tee-provider ID] [--tee-allow-simulated]]",
    help: [
      'SPEC is FILE.npy, FILE.json or @JSON (inline). JSON is {"dtype","dims","data":[…]} or a (nested) array;',
      "arrays without a dtype take --dtype, else the dtype the model declares for that input.",
      "--wait waits for the result (up to --timeout seconds, default 600); --output-dir DIR implies --wait",
      "and writes each output as DIR/NAME.npy. Exits 1 when the task fails or expires.",
      "--tee seals the inputs to an attested TEE provider (docs/TEE.md): its evidence is verified here first, the",
      "server only relays ciphertext, and the outputs open only with this process's reply key, so --tee waits.",
      "--tee-allow-simulated accepts the simulated TEE (development: it proves nothing).",
      "Example: stun tasks submit --model m_123 --input x=@[[1,2,3,4]] --verification redundant --wait",
    ].join("\n"),
    options: {
      model: { type: "string", short: "m" },
      input: { type: "string", short: "i", multiple: true },
      dtype: { type: "string" },
      verification: { type: "string" },
      replicas: { type: "string" },
      argmax: { type: "boolean" },
      "max-price": { type: "string" },
      deadline: { type: "string" },
      priority: { type: "string" },
      wait: { type: "boolean", short: "w" },
      timeout: { type: "string" },
      "output-dir": { type: "string", short: "o" },
      tee: { type: "boolean" },
      "tee-provider": { type: "string" },
      "tee-allow-simulated": { type: "boolean" },
    },
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const modelId = str(ctx, "model");
      const tee = flag(ctx, "tee");
      if (!tee && (str(ctx, "tee-provider") !== undefined || flag(ctx, "tee-allow-simulated"))) throw new UsageError("--tee-provider and --tee-allow-simulated go with --tee");
      if (!modelId) throw new UsageError("--model ID is required");
      const specs = list(ctx, "input").map(parseInputSpec);
      if (specs.length === 0) throw new UsageError("at least one --input NAME=SPEC is required");
      const seen = new Set<string>();
      for (const s of specs) {
        if (seen.has(s.name)) throw new UsageError(`--input ${s.name} is given twice`);
        seen.add(s.name);
      }
      const dtype = str(ctx, "dtype");
      if (dtype !== undefined && !isDtype(dtype)) throw new UsageError(`--dtype ${JSON.stringify(dtype)} is not a dtype`);
      const mode = str(ctx, "verification");
      if (mode !== undefined && !(VERIFICATION_MODES as readonly string[]).includes(mode)) {
        throw new UsageError(`--verification must be one of ${VERIFICATION_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
      }
      const replicas = intOption(ctx, "replicas", 1, 100);
      const maxPrice = str(ctx, "max-price");
      if (maxPrice !== undefined && !/^(0|[1-9]\d*)$/.test(maxPrice)) throw new UsageError(`--max-price must be an integer of base units, got ${JSON.stringify(maxPrice)}`);
      const deadlineSeconds = intOption(ctx, "deadline", 1, 86_400);
      const priority = intOption(ctx, "priority", 0, 9);
      const timeout = secondsOption(ctx, "timeout");
      // A sealed task's outputs open only with the reply key this process holds: it waits for them.
      const wait = flag(ctx, "wait") || str(ctx, "output-dir") !== undefined || tee;
      const client = ctx.client();

      const inits = await Promise.all(specs.map((s) => loadInput(s, ctx.resolvePath)));
      const inputs: Record<string, TensorInit> = {};
      specs.forEach((s, i) => (inputs[s.name] = inits[i]!));
      // Arrays that do not say their dtype: --dtype, else the model's declared dtype for that input.
      const dtypes: Record<string, Dtype> = {};
      const untyped = specs.filter((s) => inputs[s.name]!.dtype === undefined && Array.isArray(inputs[s.name]!.data));
      if (untyped.length > 0) {
        if (dtype !== undefined) for (const s of untyped) dtypes[s.name] = dtype as Dtype;
        else {
          const model = await client.getModel(modelId);
          for (const info of model.inputs) dtypes[info.name] = info.dtype;
        }
      }

      const options: SubmitTaskOptions = { modelId, inputs, dtypes };
      if (mode !== undefined || replicas !== undefined || flag(ctx, "argmax")) {
        options.verification = {
          mode: (mode ?? (replicas !== undefined ? "redundant" : "auto")) as VerificationMode,
          ...(replicas !== undefined ? { replicas } : {}),
          ...(flag(ctx, "argmax") ? { argmax: true } : {}),
        };
      }
      if (maxPrice !== undefined) options.maxPrice = maxPrice;
      if (deadlineSeconds !== undefined) options.deadlineSeconds = deadlineSeconds;
      if (priority !== undefined) options.priority = priority;
      if (tee) {
        options.requirements = { privacy: "tee" };
        const providerId = str(ctx, "tee-provider");
        options.tee = { ...(providerId ? { providerId } : {}), policy: { allowSimulated: flag(ctx, "tee-allow-simulated") } };
      }

      const task = await client.submitTask(options);
      if (!wait) {
        if (ctx.json) return ctx.printJson({ id: task.id, status: task.status });
        ctx.out(
          keyValues([
            ["id", task.id],
            ["status", task.status ?? "queued"],
          ]),
        );
        return;
      }
      if (!ctx.json) ctx.io.stderr.write(`submitted task ${task.id}; waiting…\n`);
      const info = await task.wait({ timeoutMs: (timeout ?? DEFAULT_WAIT_SECONDS) * 1000 });
      if (info.status !== "completed") {
        printTask(ctx, info);
        outputsOf(info); // throws TASK_FAILED / TASK_EXPIRED: exit 1
      }
      printTask(ctx, info, await maybeWrite(ctx, info));
    },
  },
  {
    path: ["tasks", "get"],
    summary: "show a task (optionally waiting for it) and save its outputs",
    synopsis: "<id> [--wait S] [--output-dir DIR]",
    help: "--wait S long-polls up to S seconds for the task to finish. --output-dir writes each output\nas DIR/NAME.npy (an error when the task has no outputs).",
    options: { wait: { type: "string", short: "w" }, "output-dir": { type: "string", short: "o" } },
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const id = ctx.positionals[0]!;
      const wait = secondsOption(ctx, "wait");
      const client = ctx.client();
      const info = wait !== undefined && wait > 0 ? await client.pollTask(id, { timeoutMs: wait * 1000 }) : await client.getTask(id);
      if (str(ctx, "output-dir") !== undefined && !isTerminalStatus(info.status)) {
        throw new StunApiError(0, "TIMEOUT", `task ${id} is still ${info.status}; no outputs to write yet (try --wait S)`);
      }
      printTask(ctx, info, await maybeWrite(ctx, info));
    },
  },
  {
    path: ["tasks", "list"],
    summary: "list your tasks, newest first",
    synopsis: "[--status S] [--limit N]",
    options: { status: { type: "string" }, limit: { type: "string" } },
    positionals: { min: 0, max: 0 },
    async run(ctx) {
      const status = str(ctx, "status");
      if (status !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) {
        throw new UsageError(`--status must be one of ${TASK_STATUSES.join(", ")}, got ${JSON.stringify(status)}`);
      }
      const limit = intOption(ctx, "limit", 1, 200);
      const tasks = await ctx.client().listTasks({ ...(limit !== undefined ? { limit } : {}), ...(status !== undefined ? { status: status as TaskStatus } : {}) });
      printList(ctx, {
        key: "tasks",
        items: tasks,
        empty: "no tasks",
        header: ["ID", "STATUS", "MODEL", "COST", "CREATED"],
        row: (t) => [t.id, t.status, t.modelId, t.cost === null ? "-" : String(t.cost), t.createdAt],
      });
    },
  },
];
