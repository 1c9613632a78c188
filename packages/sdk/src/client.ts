/**
 * StunClient: the requester's TypeScript client for Stun's REST API (`/api/v1`).
 *
 * Runs anywhere `fetch` does (Node ≥ 20, browsers, workers); the only Node-specific bit, reading a
 * model from a file path, is loaded on demand.
 */
import {
  AccountViewSchema,
  ApiKeyViewSchema,
  CreatedKeySchema,
  CreateAccountResponseSchema,
  HealthSchema,
  LedgerEntryViewSchema,
  ModelViewSchema,
  ProviderPublicSchema,
  ProviderTeeSchema,
  QuoteSchema,
  StatsSchema,
  SubmitTaskResponseSchema,
  TaskViewSchema,
  DEFAULT_RUN_WAIT_SECONDS,
  MAX_TASK_WAIT_SECONDS,
  ZkModelStatusSchema,
  ZkEscrowTermsSchema,
  type ZkEscrowTerms,
  isTerminalStatus,
  tensorMapFromJson,
  tensorToJson,
  type AccountView,
  type ApiKeyView,
  type CreatedKey,
  type KeyScope,
  type Dtype,
  type Health,
  type LedgerEntryView,
  type ModelView,
  type ProviderPublic,
  type ProviderTee,
  type Quote,
  type Receipt,
  type Requirements,
  type Stats,
  type SubmitTask,
  type TaskStatus,
  type TaskView,
  type TensorMapJson,
  type VerificationRequest,
  type ZkModelStatus,
} from "@stun/shared";
import { StunApiError, errorFromResponse } from "./errors";
import { decodeTensor, toRawTensor, toTensor, type Tensor, type TensorInput } from "./tensors";
import { openSealedTask, sealSubmit, type SealedTaskKey, type TeeOptions } from "./sealed";
import { PushUnavailable, TaskPush, type WaitPath } from "./push";

export const DEFAULT_BASE_URL = "http://localhost:4000";
/** Per-request timeout unless the call or the client says otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Model uploads move whole files; they get longer. */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 600_000;
/** How long `task.wait()` waits for a terminal status unless told. */
export const DEFAULT_WAIT_TIMEOUT_MS = 600_000;
/** How long a wait gives the push channel to connect and answer before long-polling. */
export const DEFAULT_PUSH_CONNECT_TIMEOUT_MS = 5_000;
/** A wait in seconds as the server takes it: 0 to its cap (`GET /tasks/:id?wait=S`, `POST /tasks/run`, S ≤ 60). */
const clampWait = (seconds: number): number => Math.min(MAX_TASK_WAIT_SECONDS, Math.max(0, seconds));

// ---- the SDK's views: the REST views with money as bigint ---------------------------------------

/** Money: integer base units. Accepted as bigint, a safe integer number, or a decimal string. */
export type AmountInput = bigint | number | string;

export interface CreatedAccount {
  accountId: string;
  apiKey: string;
}

export interface Account {
  accountId: string;
  balance: bigint;
  escrow: bigint;
  /** Staked as a provider: paid work needs stake ≥ 10 × the prices of the account's live executions. */
  stake: bigint;
}

/** An API key as its owner sees it (never its secret). */
export type ApiKeyInfo = ApiKeyView;
/** A key just made (create, rotate): `apiKey` is its secret, shown this once. */
export type NewApiKey = CreatedKey;

export interface CreateKeyOptions extends CallOptions {
  name: string;
  /** admin | requester | provider | read; at most the calling key's own. */
  scopes: KeyScope[];
  /** Omitted: never expires. */
  expiresInSeconds?: number;
}

export interface LedgerEntry extends Omit<LedgerEntryView, "amount"> {
  /** Signed: credits positive, debits negative. */
  amount: bigint;
}

export type Model = ModelView;

export interface TaskReceipt extends Omit<Receipt, "providers" | "cost" | "split"> {
  providers: { providerId: string; backend: Receipt["providers"][number]["backend"]; paid: bigint }[];
  cost: bigint;
  split: { providers: bigint; treasury: bigint; creator: bigint };
}

/** A task as the server last reported it; `outputs` decoded to typed arrays. */
export interface TaskInfo extends Omit<TaskView, "outputs" | "cost" | "receipt"> {
  outputs?: Record<string, Tensor>;
  cost: bigint | null;
  receipt: TaskReceipt | null;
}

export interface Provider extends Omit<ProviderPublic, "price"> {
  price: bigint;
}

export interface NetworkStats extends Omit<Stats, "volume"> {
  volume: bigint;
}

// ---- options ------------------------------------------------------------------------------------

export interface StunClientOptions {
  /**
   * Server root, e.g. "http://localhost:4000" (a trailing "/api/v1" is accepted too). Several
   * instances of one network: a list (or comma-separated). Calls go to the one that last answered;
   * when it cannot be reached, reads (GET, long-polls included) move on to the next. The API has no
   * idempotency key, so a submit or any other write moves on only when the connection was refused
   * (nothing was sent); a write cut off later rejects with NETWORK_ERROR, as with one server.
   */
  baseUrl?: string | readonly string[];
  apiKey?: string;
  /** Default per-request timeout (ms). */
  timeoutMs?: number;
  /** Default timeout for model uploads (ms). */
  uploadTimeoutMs?: number;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
  /**
   * Waits hear the task's end pushed on the server's `/requester` socket (default true); false, or
   * a socket that cannot connect within `pushConnectTimeoutMs`, long-polls `GET /tasks/:id?wait=`.
   */
  push?: boolean;
  /** How long a wait gives the push channel to connect and answer before long-polling (default 5000 ms). */
  pushConnectTimeoutMs?: number;
}

/** Options every call takes. */
export interface CallOptions {
  /** Cancels the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** This call's timeout (ms); on expiry it rejects with StunApiError TIMEOUT. */
  timeoutMs?: number;
}

export interface UploadModelOptions extends CallOptions {
  /** Display name; defaults to the file's name without ".onnx" when a path is given. */
  name?: string;
}

export interface SubmitTaskOptions {
  modelId: string;
  /** Input tensors by name: typed arrays, (nested) JS arrays, `{ dtype, dims, data }` or RawTensor. */
  inputs: Record<string, TensorInput>;
  verification?: Partial<VerificationRequest>;
  requirements?: Requirements;
  /** The most paid per execution, in base units. */
  maxPrice?: AmountInput;
  deadlineSeconds?: number;
  priority?: number;
  /**
   * Pay from an on-chain per-task escrow instead of the balance: the marketplace task id (bytes32,
   * 0x + 64 hex digits) created with `createTask` from the account's linked wallet, holding at least
   * maxPrice × the mode's executions (docs/CHAIN.md "Paying a task from an on-chain escrow").
   */
  escrow?: `0x${string}`;
  /**
   * Dtypes for inputs given as plain JS arrays, by input name (e.g. from the model's signature).
   * Arrays that do not say default to float32 (numbers), int64 (bigints), bool, string.
   */
  dtypes?: Record<string, Dtype>;
  /**
   * A sealed task (`requirements.privacy: "tee"`, docs/TEE.md): which attested provider, and the
   * attestation policy this client checks its evidence against before sealing.
   */
  tee?: TeeOptions;
}

export interface WaitOptions {
  /** Total time to wait for a terminal status (default 10 minutes; Infinity waits forever). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Told how the wait learnt the task's end: "push", or "long-poll" (push off, or unavailable). */
  onPath?: (path: WaitPath) => void;
}

export interface ListTasksOptions extends CallOptions {
  limit?: number;
  status?: TaskStatus;
}

export interface LedgerOptions extends CallOptions {
  limit?: number;
  /** Entries older than this entry id (for paging). */
  before?: string | bigint;
}

interface RequestSpec<T> {
  method: "GET" | "POST";
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  bytes?: Uint8Array | Blob;
  auth?: boolean;
  parse: (body: unknown) => T;
  call?: CallOptions;
  defaultTimeoutMs?: number;
}

// ---- conversions --------------------------------------------------------------------------------

/** Normalizes an amount to the wire's decimal string; rejects negatives, fractions and junk. */
export function amountToString(amount: AmountInput): string {
  let s: string;
  if (typeof amount === "bigint") s = amount.toString();
  else if (typeof amount === "number") {
    if (!Number.isSafeInteger(amount)) throw new StunApiError(0, "VALIDATION_FAILED", `amount ${amount} is not a safe integer; pass a bigint or a string`);
    s = String(amount);
  } else s = amount.trim();
  if (!/^(0|[1-9]\d*)$/.test(s)) {
    throw new StunApiError(0, "VALIDATION_FAILED", `amount ${JSON.stringify(String(amount))} is not a non-negative integer of base units`);
  }
  return s;
}

const toAccount = (v: AccountView): Account => ({ accountId: v.accountId, balance: BigInt(v.balance), escrow: BigInt(v.escrow), stake: BigInt(v.stake) });
const toLedgerEntry = (v: LedgerEntryView): LedgerEntry => ({ ...v, amount: BigInt(v.amount) });
const toProvider = (v: ProviderPublic): Provider => ({ ...v, price: BigInt(v.price) });
const toStats = (v: Stats): NetworkStats => ({ ...v, volume: BigInt(v.volume) });

function toReceipt(r: Receipt): TaskReceipt {
  return {
    ...r,
    providers: r.providers.map((p) => ({ ...p, paid: BigInt(p.paid) })),
    cost: BigInt(r.cost),
    split: { providers: BigInt(r.split.providers), treasury: BigInt(r.split.treasury), creator: BigInt(r.split.creator) },
  };
}

/** Converts a REST TaskView to the SDK's TaskInfo (bigint money, decoded outputs). */
export function toTaskInfo(v: TaskView): TaskInfo {
  const { outputs, cost, receipt, ...rest } = v;
  const info: TaskInfo = { ...rest, cost: cost === null ? null : BigInt(cost), receipt: receipt === null ? null : toReceipt(receipt) };
  if (outputs !== undefined) {
    info.outputs = Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, decodeTensor(t, name)]));
  }
  return info;
}

/** Encodes SubmitTaskOptions as the REST body (inputs to base64/strings, amounts to strings). */
export function buildSubmitBody(options: SubmitTaskOptions): SubmitTask {
  if (typeof options.inputs !== "object" || options.inputs === null) {
    throw new StunApiError(0, "VALIDATION_FAILED", "inputs must be an object of tensors by name");
  }
  const inputs: TensorMapJson = {};
  for (const [name, input] of Object.entries(options.inputs)) {
    const fallbackDtype = options.dtypes?.[name];
    inputs[name] = tensorToJson(toRawTensor(input, fallbackDtype === undefined ? { name } : { name, fallbackDtype }));
  }
  const body: SubmitTask = { modelId: options.modelId, inputs };
  if (options.verification !== undefined) body.verification = { mode: "auto", ...options.verification };
  if (options.requirements !== undefined) body.requirements = options.requirements;
  if (options.maxPrice !== undefined) body.maxPrice = amountToString(options.maxPrice);
  if (options.deadlineSeconds !== undefined) body.deadlineSeconds = options.deadlineSeconds;
  if (options.priority !== undefined) body.priority = options.priority;
  if (options.escrow !== undefined) body.escrow = { taskId: options.escrow };
  return body;
}

/** Builds a parser from a zod-like schema; a mismatch is BAD_RESPONSE (the server broke the contract). */
function parseWith<S, T = S>(
  schema: { safeParse(v: unknown): { success: true; data: S } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } },
  what: string,
  map?: (v: S) => T,
): (body: unknown) => T {
  return (body) => {
    const r = schema.safeParse(body);
    if (!r.success) {
      const issues = r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
        .join("; ");
      throw new StunApiError(0, "BAD_RESPONSE", `unexpected ${what} from the server: ${issues}`);
    }
    return map ? map(r.data) : (r.data as unknown as T);
  };
}

const listOf = <S, T>(key: string, item: Parameters<typeof parseWith<S, T>>[0], map: (v: S) => T) => {
  const one = parseWith(item, key, map);
  return (body: unknown): T[] => {
    const list = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[key] : undefined;
    if (!Array.isArray(list)) throw new StunApiError(0, "BAD_RESPONSE", `unexpected answer from the server: "${key}" is not a list`);
    return list.map(one);
  };
};

function normalizeBaseUrl(baseUrl: string): string {
  let url = baseUrl.trim().replace(/\/+$/, "");
  if (url.endsWith("/api/v1")) url = url.slice(0, -"/api/v1".length);
  try {
    new URL(url);
  } catch {
    throw new StunApiError(0, "VALIDATION_FAILED", `not a server URL: ${JSON.stringify(baseUrl)}`);
  }
  return url;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Errors worth retrying while waiting on a task: the network blipped or the server is busy. */
const isTransient = (e: unknown): boolean =>
  e instanceof StunApiError && (e.code === "NETWORK_ERROR" || e.code === "TIMEOUT" || e.code === "RATE_LIMITED" || e.code === "UNAVAILABLE" || [502, 503, 504].includes(e.status));

// ---- the client ---------------------------------------------------------------------------------

/** Connection refused: the request never reached a server, so it is safe to send elsewhere. */
const wasRefused = (e: unknown): boolean => {
  const cause = (e as { cause?: { code?: string; cause?: { code?: string } } }).cause;
  return cause?.code === "ECONNREFUSED" || cause?.cause?.code === "ECONNREFUSED";
};

export class StunClient {
  /** The first server (of `baseUrls`). */
  readonly baseUrl: string;
  /** Every server the client may use (one, or several instances of one network). */
  readonly baseUrls: readonly string[];
  /** Index in baseUrls of the server that answered last. */
  private current = 0;
  readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly uploadTimeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly push: TaskPush | undefined;

  constructor(options: StunClientOptions = {}) {
    const list = typeof options.baseUrl === "string" ? options.baseUrl.split(",") : (options.baseUrl ?? [DEFAULT_BASE_URL]);
    this.baseUrls = list.filter((u) => u.trim() !== "").map(normalizeBaseUrl);
    if (this.baseUrls.length === 0) throw new StunApiError(0, "VALIDATION_FAILED", "no server URL in baseUrl");
    this.baseUrl = this.baseUrls[0]!;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.uploadTimeoutMs = options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== "function") throw new StunApiError(0, "VALIDATION_FAILED", "no fetch implementation: pass options.fetch");
    this.fetchImpl = f.bind(globalThis);
    if (options.push !== false && this.apiKey) this.push = new TaskPush(this.baseUrl, this.apiKey, options.pushConnectTimeoutMs ?? DEFAULT_PUSH_CONNECT_TIMEOUT_MS);
  }

  /** Creates an account (no API key needed) and returns its id and API key (shown only once). */
  static async createAccount(baseUrl: string | readonly string[] = DEFAULT_BASE_URL, options: CallOptions & { fetch?: typeof fetch } = {}): Promise<CreatedAccount> {
    const client = new StunClient({ baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
    return client.request({
      method: "POST",
      path: "/accounts",
      json: {},
      auth: false,
      parse: parseWith(CreateAccountResponseSchema, "account"),
      call: options,
    });
  }

  /** A copy of this client using another API key (e.g. after createAccount). */
  withApiKey(apiKey: string): StunClient {
    return new StunClient({ baseUrl: this.baseUrls, apiKey, timeoutMs: this.timeoutMs, uploadTimeoutMs: this.uploadTimeoutMs, fetch: this.fetchImpl });
  }

  // ---- network ----

  /** The server answers, and how many providers are online (work submitted now can run once `providers.online` > 0). */
  async health(call?: CallOptions): Promise<Health> {
    return this.request({ method: "GET", path: "/health", auth: false, call, parse: parseWith(HealthSchema, "health answer") });
  }

  async providers(call?: CallOptions): Promise<Provider[]> {
    return this.request({ method: "GET", path: "/providers", call, parse: listOf("providers", ProviderPublicSchema, toProvider) });
  }

  async stats(call?: CallOptions): Promise<NetworkStats> {
    return this.request({ method: "GET", path: "/stats", call, parse: parseWith(StatsSchema, "stats", toStats) });
  }

  // ---- accounts and money ----

  async account(call?: CallOptions): Promise<Account> {
    return this.request({ method: "GET", path: "/accounts/me", call, parse: parseWith(AccountViewSchema, "account", toAccount) });
  }

  /** Credits the caller's balance (servers in local mode only); returns the account after it. */
  async faucet(amount: AmountInput, call?: CallOptions): Promise<Account> {
    return this.request({
      method: "POST",
      path: "/faucet",
      json: { amount: amountToString(amount) },
      call,
      parse: parseWith(AccountViewSchema, "account", toAccount),
    });
  }

  /**
   * Moves `amount` from the balance to the stake (providers need stake for paid work); returns the
   * account after it. INSUFFICIENT_FUNDS (402) when the balance is short.
   */
  async stake(amount: AmountInput, call?: CallOptions): Promise<Account> {
    return this.request({
      method: "POST",
      path: "/accounts/me/stake",
      json: { amount: amountToString(amount) },
      call,
      parse: parseWith(AccountViewSchema, "account", toAccount),
    });
  }

  /**
   * Moves `amount` from the stake back to the balance; returns the account after it.
   * INSUFFICIENT_FUNDS (402) when the stake is short; STAKE_LOCKED (409) when the rest would no
   * longer cover the account's live executions (`details.unlocked`: the most unstakeable now).
   */
  async unstake(amount: AmountInput, call?: CallOptions): Promise<Account> {
    return this.request({
      method: "POST",
      path: "/accounts/me/unstake",
      json: { amount: amountToString(amount) },
      call,
      parse: parseWith(AccountViewSchema, "account", toAccount),
    });
  }

  async ledger(options: LedgerOptions = {}): Promise<LedgerEntry[]> {
    return this.request({
      method: "GET",
      path: "/accounts/me/ledger",
      query: { limit: options.limit, before: options.before === undefined ? undefined : String(options.before) },
      call: options,
      parse: listOf("entries", LedgerEntryViewSchema, toLedgerEntry),
    });
  }

  // ---- API keys ----

  /** The account's API keys, newest first (revoked and expired ones too; never secrets). */
  async listKeys(options: CallOptions & { limit?: number } = {}): Promise<ApiKeyInfo[]> {
    return this.request({ method: "GET", path: "/accounts/me/keys", query: { limit: options.limit }, call: options, parse: listOf("keys", ApiKeyViewSchema, (k) => k) });
  }

  /** Creates a named key with scopes (KEY_SCOPE 403 when broader than this client's key). */
  async createKey(options: CreateKeyOptions): Promise<NewApiKey> {
    const { name, scopes, expiresInSeconds, ...call } = options;
    return this.request({
      method: "POST",
      path: "/accounts/me/keys",
      json: { name, scopes, ...(expiresInSeconds !== undefined ? { expiresInSeconds } : {}) },
      call,
      parse: parseWith(CreatedKeySchema, "key"),
    });
  }

  /** Revokes a key: every server instance refuses it at once (KEY_REVOKED). */
  async revokeKey(id: string, call?: CallOptions): Promise<ApiKeyInfo> {
    return this.request({
      method: "POST",
      path: `/accounts/me/keys/${encodeURIComponent(id)}/revoke`,
      json: {},
      call,
      parse: (b) => parseWith(ApiKeyViewSchema, "key")((b as { key?: unknown } | undefined)?.key),
    });
  }

  /** A new key with the old one's name, scopes and lifetime; the old one is revoked, or expires after `graceSeconds`. */
  async rotateKey(id: string, options: CallOptions & { graceSeconds?: number } = {}): Promise<NewApiKey> {
    const { graceSeconds, ...call } = options;
    return this.request({
      method: "POST",
      path: `/accounts/me/keys/${encodeURIComponent(id)}/rotate`,
      json: graceSeconds !== undefined ? { graceSeconds } : {},
      call,
      parse: parseWith(CreatedKeySchema, "key"),
    });
  }

  // ---- models ----

  /**
   * Uploads an ONNX model. `model` is its bytes, a Blob, or (in Node) a file path. The server reads
   * the graph's inputs and outputs; a file that is not a valid ONNX model is MODEL_INVALID.
   */
  async uploadModel(model: Uint8Array | ArrayBuffer | Blob | string, options: UploadModelOptions = {}): Promise<Model> {
    let bytes: Uint8Array | Blob;
    let name = options.name;
    if (typeof model === "string") {
      const [{ readFile }, { basename }] = await Promise.all([import("node:fs/promises"), import("node:path")]);
      try {
        bytes = new Uint8Array(await readFile(model));
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new StunApiError(0, "FILE_ERROR", `cannot read model file ${model}: ${err.code ?? err.message}`, { cause: e });
      }
      name ??= basename(model).replace(/\.onnx$/i, "");
    } else if (model instanceof ArrayBuffer) bytes = new Uint8Array(model);
    else bytes = model;
    return this.request({
      method: "POST",
      path: "/models",
      query: { name },
      bytes,
      call: options,
      defaultTimeoutMs: this.uploadTimeoutMs,
      parse: parseWith(ModelViewSchema, "model"),
    });
  }

  async listModels(call?: CallOptions): Promise<Model[]> {
    return this.request({ method: "GET", path: "/models", call, parse: listOf("models", ModelViewSchema, (m) => m) });
  }

  async getModel(id: string, call?: CallOptions): Promise<Model> {
    return this.request({ method: "GET", path: `/models/${encodeURIComponent(id)}`, call, parse: parseWith(ModelViewSchema, "model") });
  }

  /**
   * Whether the model takes verification mode `zk`: `unsupported` (with the operators), or its
   * circuit's state (`compiling` → `ready`), size, proving fee per execution and public model hash.
   */
  async getModelZk(id: string, call?: CallOptions): Promise<ZkModelStatus> {
    return this.request({ method: "GET", path: `/models/${encodeURIComponent(id)}/zk`, call, parse: parseWith(ZkModelStatusSchema, "zk status") });
  }

  /**
   * The terms of a `createZkTask` escrow to pay a zk task on `inputs` (docs/CHAIN.md "Paying a task
   * from an on-chain escrow"): a new task id, its bytes32 `escrowId`, the model hash and the input
   * hash. Escrow with `createZkTask(escrowId, token, amount, deadline, modelCreator, modelHash,
   * inputHash)` from the account's linked wallet, then `submitTask({ modelId, inputs, verification:
   * { mode: "zk" }, escrow: escrowId })`: the task takes `taskId`. Needs the model's circuit built.
   */
  async zkEscrowTerms(modelId: string, inputs: SubmitTaskOptions["inputs"], options: { dtypes?: SubmitTaskOptions["dtypes"] } & CallOptions = {}): Promise<ZkEscrowTerms> {
    const { inputs: json } = buildSubmitBody({ modelId, inputs, ...(options.dtypes ? { dtypes: options.dtypes } : {}) });
    return this.request({
      method: "POST",
      path: `/models/${encodeURIComponent(modelId)}/zk/escrow-terms`,
      json: { inputs: json },
      call: options,
      parse: parseWith(ZkEscrowTermsSchema, "zk escrow terms"),
    });
  }

  /**
   * What a task on the model is expected to cost and wait (docs/PRICING.md): per execution, in
   * total for the verification mode (default `auto`), the zk proving fee, the maxPrice a submit
   * without one gets, the expected wait, and how many clearings the price index rests on.
   */
  async quote(modelId: string, options: { mode?: "none" | "redundant" | "auto" | "zk"; replicas?: number; backend?: string } & CallOptions = {}): Promise<Quote> {
    return this.request({
      method: "GET",
      path: "/quote",
      query: { modelId, mode: options.mode, replicas: options.replicas, backend: options.backend },
      call: options,
      parse: parseWith(QuoteSchema, "quote"),
    });
  }

  // ---- tasks ----

  /**
   * Submits a task and returns its handle at once (the server answers 202 while it queues); use
   * `await handle.wait()` or `await handle.getOutput(name)` for the result.
   */
  async submitTask(options: SubmitTaskOptions, call?: CallOptions): Promise<TaskHandle> {
    let body = buildSubmitBody(options);
    let key: SealedTaskKey | undefined;
    if (options.requirements?.privacy === "tee") {
      // The clear inputs never leave this process: they are sealed to the provider's attested key.
      ({ body, key } = await sealSubmit(this, body, tensorMapFromJson(body.inputs ?? {}), options.tee));
    }
    const res = await this.request({ method: "POST", path: "/tasks", json: body, call, parse: parseWith(SubmitTaskResponseSchema, "task") });
    return new TaskHandle(this, res.id, res.status, key);
  }

  /**
   * Submits a task and waits for its end in the same request (`POST /tasks/run`; `wait` seconds,
   * ≤ 60, default 30): one round trip where submitTask and `handle.wait()` take two. The handle
   * holds the view the server answered with: `wait()` and `getOutput()` return at once when the task
   * ended, and go on waiting when the time ran out first. A connection lost during the request loses
   * the task's id with it (listTasks finds the task): for long tasks, submitTask is the safer call.
   * A sealed task (privacy "tee") is submitted and waited for as submitTask does.
   */
  async runTask(options: SubmitTaskOptions & { wait?: number }, call?: CallOptions): Promise<TaskHandle> {
    const { wait: asked, ...submit } = options;
    if (submit.requirements?.privacy === "tee") {
      const handle = await this.submitTask(submit, call);
      await handle.wait(call?.signal ? { signal: call.signal } : {});
      return handle;
    }
    const wait = clampWait(asked ?? DEFAULT_RUN_WAIT_SECONDS);
    const info = await this.request({
      method: "POST",
      path: "/tasks/run",
      json: { ...buildSubmitBody(submit), wait },
      call,
      defaultTimeoutMs: this.timeoutMs + wait * 1000,
      parse: parseWith(TaskViewSchema, "task", toTaskInfo),
    });
    return new TaskHandle(this, info.id, info.status, undefined, info);
  }

  /** A provider's current TEE evidence (verify it with @stun/tee verifyEvidence before sealing to it; submitTask does). */
  async providerTee(id: string, call?: CallOptions): Promise<ProviderTee> {
    return this.request({ method: "GET", path: `/providers/${encodeURIComponent(id)}/tee`, call, parse: parseWith(ProviderTeeSchema, "provider evidence") });
  }

  /** The task now; with `wait` (seconds, ≤ 60) the server holds the answer until it is terminal or the time is up. */
  async getTask(id: string, options: CallOptions & { wait?: number } = {}): Promise<TaskInfo> {
    const wait = options.wait === undefined ? undefined : clampWait(options.wait);
    return this.request({
      method: "GET",
      path: `/tasks/${encodeURIComponent(id)}`,
      query: { wait },
      call: options,
      // The server may hold a long-poll for `wait` seconds: the timeout covers that plus the usual.
      defaultTimeoutMs: this.timeoutMs + (wait ?? 0) * 1000,
      parse: parseWith(TaskViewSchema, "task", toTaskInfo),
    });
  }

  async listTasks(options: ListTasksOptions = {}): Promise<TaskInfo[]> {
    return this.request({
      method: "GET",
      path: "/tasks",
      query: { limit: options.limit, status: options.status },
      call: options,
      parse: listOf("tasks", TaskViewSchema, toTaskInfo),
    });
  }

  /**
   * Long-polls a task until it is terminal (completed, failed or expired) and returns it — a failed
   * or expired task is returned, not thrown. Rejects with StunApiError TIMEOUT when `timeoutMs`
   * passes first (details: taskId, status). Network blips and 502/503/504 are retried until then.
   */
  async waitForTask(id: string, options: WaitOptions = {}): Promise<TaskInfo> {
    const last = await this.pollTask(id, options);
    if (!isTerminalStatus(last.status)) {
      throw new StunApiError(0, "TIMEOUT", `task ${id} is still ${last.status} after ${options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS} ms`, {
        details: { taskId: id, status: last.status },
      });
    }
    return last;
  }

  /**
   * Like waitForTask but returns the last view, terminal or not, when the time is up. Hears the end
   * on the push channel when it can (then one plain GET for the view), else long-polls.
   */
  async pollTask(id: string, options: WaitOptions = {}): Promise<TaskInfo> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const { signal } = options;
    if (this.push) {
      try {
        await this.push.untilTerminal(id, deadline, signal);
        options.onPath?.("push");
        return await this.getTask(id, signal ? { signal } : {});
      } catch (e) {
        if (!(e instanceof PushUnavailable)) throw e;
      }
    }
    options.onPath?.("long-poll");
    return this.longPoll(id, deadline, signal);
  }

  private async longPoll(id: string, deadline: number, signal: AbortSignal | undefined): Promise<TaskInfo> {
    let backoff = 250;
    let last: TaskInfo | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const remaining = deadline - Date.now();
      // Tenths of a second, so the server's hold never outlasts our own deadline.
      const wait = clampWait(Math.floor(remaining / 100) / 10);
      const started = Date.now();
      try {
        last = await this.getTask(id, { wait, ...(signal ? { signal } : {}) });
        if (isTerminalStatus(last.status)) return last;
      } catch (e) {
        if (!isTransient(e) || Date.now() >= deadline) {
          if (last && isTransient(e)) return last;
          throw e;
        }
      }
      if (Date.now() >= deadline) {
        if (last) return last;
        return this.getTask(id, signal ? { signal } : {});
      }
      // A server that answered early without a terminal status (or an error) is not hammered.
      if (Date.now() - started < 1000) {
        await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())), signal);
        backoff = Math.min(backoff * 2, 5000);
      } else backoff = 250;
    }
  }

  /** Closes the push channel's socket, if one is open (it never keeps a Node process alive, so this is optional). */
  close(): void {
    this.push?.close();
  }

  /** A handle on an existing task (no request until it is used). */
  task(id: string): TaskHandle {
    return new TaskHandle(this, id);
  }

  // ---- transport ----

  private urlOf(base: string, spec: RequestSpec<unknown>): URL {
    const url = new URL(`${base}/api/v1${spec.path}`);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async request<T>(spec: RequestSpec<T>): Promise<T> {
    let url = this.urlOf(this.baseUrls[this.current]!, spec as RequestSpec<unknown>);
    const headers: Record<string, string> = { accept: "application/json" };
    if (spec.auth !== false && this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let body: RequestInit["body"];
    if (spec.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(spec.json);
    } else if (spec.bytes !== undefined) {
      headers["content-type"] = "application/octet-stream";
      body = spec.bytes as RequestInit["body"];
    }

    const timeoutMs = spec.call?.timeoutMs ?? spec.defaultTimeoutMs ?? this.timeoutMs;
    const callerSignal = spec.call?.signal;
    callerSignal?.throwIfAborted();
    const timeout = Number.isFinite(timeoutMs) ? AbortSignal.timeout(timeoutMs) : undefined;
    const signals = [callerSignal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);

    const failed = (e: unknown): never => {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (timeout?.aborted) {
        throw new StunApiError(0, "TIMEOUT", `${spec.method} ${url.pathname} got no answer within ${timeoutMs} ms`, { cause: e });
      }
      if (e instanceof StunApiError) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
      throw new StunApiError(0, "NETWORK_ERROR", `${spec.method} ${url.origin}${url.pathname} failed: ${why}`, { cause: e });
    };

    let res: Response;
    let text: string;
    // Several servers: on a failed connection move on (see StunClientOptions.baseUrl), each once.
    for (let tried = 1; ; tried++) {
      try {
        res = await this.fetchImpl(url, { method: spec.method, headers, ...(body !== undefined ? { body } : {}), ...(signal ? { signal } : {}) });
        text = await res.text();
        break;
      } catch (e) {
        const another = tried < this.baseUrls.length && !callerSignal?.aborted && !timeout?.aborted && (spec.method === "GET" || wasRefused(e));
        if (!another) return failed(e);
        this.current = (this.current + 1) % this.baseUrls.length;
        url = this.urlOf(this.baseUrls[this.current]!, spec as RequestSpec<unknown>);
      }
    }
    if (!res.ok) throw errorFromResponse(res.status, text, res.statusText);
    let parsed: unknown;
    try {
      parsed = text.length === 0 ? undefined : JSON.parse(text);
    } catch {
      throw new StunApiError(res.status, "BAD_RESPONSE", `${spec.method} ${url.pathname} answered ${res.status} with a body that is not JSON`);
    }
    return spec.parse(parsed);
  }
}

// ---- task handle --------------------------------------------------------------------------------

/** A submitted task. `wait()` for it to finish, `getOutput(name)` for a result tensor. */
export class TaskHandle {
  readonly id: string;
  private readonly client: StunClient;
  private lastInfo: TaskInfo | undefined;
  private lastStatus: TaskStatus | undefined;

  /** A sealed task's key to its outputs (kept in memory only). */
  private readonly sealedKey: SealedTaskKey | undefined;

  /** `info`: the task as a request already answered it (runTask). */
  constructor(client: StunClient, id: string, status?: TaskStatus, sealedKey?: SealedTaskKey, info?: TaskInfo) {
    this.client = client;
    this.id = id;
    this.lastStatus = status;
    this.sealedKey = sealedKey;
    this.lastInfo = info;
  }

  /** The status last seen (undefined before the first request about this task). */
  get status(): TaskStatus | undefined {
    return this.lastInfo?.status ?? this.lastStatus;
  }

  /** The task as last fetched (undefined until refresh/wait). */
  get info(): TaskInfo | undefined {
    return this.lastInfo;
  }

  /** Fetches the task now. */
  async refresh(call?: CallOptions): Promise<TaskInfo> {
    return this.remember(await this.client.getTask(this.id, call));
  }

  /**
   * Waits until the task is completed, failed or expired and returns it. A failed or expired task
   * is returned, not thrown (check `status` and `error`; `getOutput` throws for it). Rejects with
   * StunApiError TIMEOUT if `timeoutMs` (default 10 minutes) passes first.
   */
  async wait(options: WaitOptions = {}): Promise<TaskInfo> {
    if (this.lastInfo && isTerminalStatus(this.lastInfo.status)) return this.lastInfo;
    return this.remember(await this.client.waitForTask(this.id, options));
  }

  /** Opens a completed sealed task's outputs into `outputs` (they come back sealed to this handle's reply key). */
  private async unseal(info: TaskInfo): Promise<TaskInfo> {
    if (!this.sealedKey || info.status !== "completed" || !info.sealed) return info;
    const outputs = await openSealedTask({ id: info.id, sealed: info.sealed, receipt: info.receipt === null ? null : (info.receipt as unknown as Receipt) }, this.sealedKey);
    return { ...info, outputs: Object.fromEntries(Object.entries(outputs).map(([name, raw]) => [name, toTensor(raw, name)])) };
  }

  /**
   * One output tensor, waiting for the task first if needed. Throws StunApiError TASK_FAILED or
   * TASK_EXPIRED when the task did not complete, OUTPUT_NOT_FOUND for an unknown name.
   */
  async getOutput(name: string, options: WaitOptions = {}): Promise<Tensor> {
    const outputs = await this.getOutputs(options);
    const t = Object.hasOwn(outputs, name) ? outputs[name] : undefined;
    if (!t) {
      const names =
        Object.keys(outputs)
          .map((n) => JSON.stringify(n))
          .join(", ") || "none";
      throw new StunApiError(0, "OUTPUT_NOT_FOUND", `task ${this.id} has no output "${name}" (its outputs: ${names})`, {
        details: { taskId: this.id, outputs: Object.keys(outputs) },
      });
    }
    return t;
  }

  /** All output tensors by name, waiting for the task first if needed (throws as getOutput does). */
  async getOutputs(options: WaitOptions = {}): Promise<Record<string, Tensor>> {
    return outputsOf(await this.wait(options));
  }

  private async remember(fetched: TaskInfo): Promise<TaskInfo> {
    const info = await this.unseal(fetched);
    this.lastInfo = info;
    return info;
  }
}

/** The outputs of a terminal task, or the StunApiError that says why there are none. */
export function outputsOf(info: TaskInfo): Record<string, Tensor> {
  if (info.status === "completed" && info.dataPurgedAt && !info.outputs) {
    throw new StunApiError(410, "TASK_DATA_EXPIRED", `task ${info.id}'s outputs were deleted at ${info.dataPurgedAt} (retention)`, {
      details: { taskId: info.id, dataPurgedAt: info.dataPurgedAt },
    });
  }
  if (info.status === "completed") return info.outputs ?? {};
  const details: Record<string, unknown> = { taskId: info.id, status: info.status };
  if (info.error) details.taskCode = info.error.code;
  const why = info.error ? `${info.error.code}: ${info.error.message}` : undefined;
  if (info.status === "failed") throw new StunApiError(0, "TASK_FAILED", `task ${info.id} failed${why ? ` (${why})` : ""}`, { details });
  if (info.status === "expired") throw new StunApiError(0, "TASK_EXPIRED", `task ${info.id} expired before it completed${why ? ` (${why})` : ""}`, { details });
  throw new StunApiError(0, "TIMEOUT", `task ${info.id} is still ${info.status}`, { details });
}
