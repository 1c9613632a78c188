"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { StunError, tensorMapToJson, validateInputsAgainstSignature, type ModelView, type ProviderPublic, type RawTensor, type TensorInfo, type VerificationMode } from "@stun/shared";
import { formatAmount, formatShape, shortHash } from "@/lib/format";
import { ClientError, toUiError, type UiError } from "@/lib/errors";
import { sealInPage, storeSealedKey, verifyProviderInPage } from "@/lib/sealed";
import { example, imageLayout, imageToTensor, npyToTensor, parseTextInput, randomExample, type ImageLayout } from "@/lib/tensor-input";
import { trpc } from "@/lib/trpc";
import { Shape } from "./signature";
import { Badge, Button, ErrorNotice, FieldError, Mono, cx, inputBase, inputClass } from "./ui";

type Source = "text" | "npy" | "image";

interface InputState {
  source: Source;
  text: string;
  /** A decoded .npy or image, ready to send. */
  file?: { name: string; tensor: RawTensor; preview?: string };
  /** A problem with this input (client-side check or the file). */
  error?: UiError;
}

const DEFAULT_MAX_PRICE = "1000";

function SourcePicker({ name, value, onChange, image }: { name: string; value: Source; onChange: (s: Source) => void; image: boolean }) {
  const options: Array<[Source, string]> = [["text", "Values"], ["npy", ".npy file"], ...(image ? ([["image", "Image"]] as Array<[Source, string]>) : [])];
  return (
    <div role="radiogroup" aria-label={`Input source for ${name}`} className="inline-flex rounded-lg bg-slate-100 p-0.5">
      {options.map(([s, label]) => (
        <label
          key={s}
          className={cx(
            "cursor-pointer rounded-md px-2.5 py-1 text-xs font-medium has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-brand-500",
            value === s ? "bg-white text-slate-900 shadow-sm" : "text-slate-600 hover:text-slate-900",
          )}
        >
          <input type="radio" className="sr-only" name={`source-${name}`} value={s} checked={value === s} onChange={() => onChange(s)} />
          {label}
        </label>
      ))}
    </div>
  );
}

function InputField({ info, state, onChange }: { info: TensorInfo; state: InputState; onChange: (s: InputState) => void }) {
  const id = useId();
  const layout: ImageLayout | undefined = imageLayout(info);
  const errorId = `${id}-error`;
  const helpId = `${id}-help`;
  const invalid = state.error ? true : undefined;
  const describedBy = [helpId, state.error ? errorId : null].filter(Boolean).join(" ");
  const random = randomExample(info);

  const readFile = async (file: File | undefined, kind: "npy" | "image") => {
    if (!file) return;
    try {
      if (kind === "npy") onChange({ ...state, file: { name: file.name, tensor: await npyToTensor(info, file) }, error: undefined });
      else {
        const { tensor, preview } = await imageToTensor(file, layout!, info.name);
        onChange({ ...state, file: { name: file.name, tensor, preview }, error: undefined });
      }
    } catch (e) {
      onChange({ ...state, file: undefined, error: toUiError(e) });
    }
  };

  return (
    <fieldset className="rounded-lg border border-slate-200 p-4">
      <legend className="px-1 text-sm">
        <span className="font-mono font-medium text-slate-900">{info.name}</span> <span className="font-mono text-brand-700">{info.dtype}</span>{" "}
        <span className="font-mono text-slate-600">
          <Shape shape={info.shape} />
        </span>
      </legend>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <SourcePicker name={info.name} value={state.source} image={!!layout} onChange={(source) => onChange({ ...state, source, file: undefined, error: undefined })} />
        {state.source === "text" && random ? (
          <button type="button" className="rounded text-xs font-medium text-brand-700 hover:underline" onClick={() => onChange({ ...state, text: random, error: undefined })}>
            Fill with random values
          </button>
        ) : null}
      </div>

      {state.source === "text" ? (
        <>
          <label htmlFor={id} className="sr-only">
            Values for {info.name}
          </label>
          <textarea
            id={id}
            rows={3}
            spellCheck={false}
            className={`${inputClass} font-mono`}
            placeholder={example(info)}
            value={state.text}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            onChange={(e) => onChange({ ...state, text: e.target.value, error: undefined })}
          />
          <p id={helpId} className="mt-1.5 text-xs text-slate-500">
            {info.dtype === "string" ? "One string per line, or a JSON array of strings." : "Numbers separated by commas or spaces, or a (nested) JSON array."}{" "}
            {info.shape.some((d) => typeof d === "string" || d < 0) ? "Open dimensions are sized from the data." : `Exactly ${info.shape.reduce<number>((p, d) => p * (d as number), 1)} values.`}
          </p>
        </>
      ) : (
        <>
          <label htmlFor={id} className="block text-sm font-medium text-slate-800">
            {state.source === "npy" ? `.npy file for ${info.name}` : `Image for ${info.name}`}
          </label>
          <input
            id={id}
            type="file"
            accept={state.source === "npy" ? ".npy" : "image/*"}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            className="mt-1.5 block w-full text-sm text-slate-700 file:mr-3 file:rounded-md file:border-0 file:bg-brand-50 file:px-3 file:py-1.5 file:text-sm file:font-medium file:text-brand-700 hover:file:bg-brand-100"
            onChange={(e) => void readFile(e.target.files?.[0], state.source === "npy" ? "npy" : "image")}
          />
          <p id={helpId} className="mt-1.5 text-xs text-slate-500">
            {state.source === "npy"
              ? `A NumPy array saved with np.save: ${info.dtype}, rank ${info.shape.length}.`
              : `Resized to ${layout!.width}×${layout!.height} and sent as ${layout!.layout} ${layout!.dtype}${layout!.dtype === "float32" ? " in 0…1" : " in 0…255"}.`}
          </p>
          {state.file ? (
            <div className="mt-2 flex items-center gap-3 text-xs text-slate-600">
              {state.file.preview ? <img src={state.file.preview} alt={`${info.name} preview`} className="size-14 rounded border border-slate-200 object-cover" /> : null}
              <span>
                <span className="font-mono">{state.file.name}</span> → {state.file.tensor.dtype} {formatShape(state.file.tensor.dims)}
              </span>
            </div>
          ) : null}
        </>
      )}
      {state.error ? (
        <FieldError id={errorId}>
          <code className="font-mono text-xs">{state.error.code}</code> {state.error.message}
        </FieldError>
      ) : null}
    </fieldset>
  );
}

/** Binds each named symbolic dimension to its size in a tensor, first binding wins. */
function bindDims(info: TensorInfo, dims: number[], bound: Map<string, number>) {
  info.shape.forEach((d, i) => {
    if (typeof d === "string" && d !== "" && !bound.has(d) && dims[i] !== undefined) bound.set(d, dims[i]!);
  });
}

const MODES: Array<{ mode: VerificationMode; title: string; text: string }> = [
  { mode: "auto", title: "Auto", text: "Replicated on new providers, alone on trusted ones (audited at random)." },
  { mode: "redundant", title: "Redundant", text: "Several providers run it; a majority must agree." },
  { mode: "none", title: "None", text: "One execution, unchecked. Cheapest." },
  { mode: "zk", title: "Zero-knowledge", text: "One provider proves output = model(input); the proof is verified and kept on the receipt." },
];

/** Whether the model takes zk tasks (its circuit's state and proving fee), shown when zk is chosen. */
function ZkNote({ modelId }: { modelId: string }) {
  const zk = useQuery({ queryKey: ["models.zk", modelId], queryFn: () => trpc.models.zk.query({ id: modelId }), refetchInterval: (q) => (q.state.data?.status === "compiling" ? 2000 : false) });
  if (zk.isPending) return <p className="text-xs text-slate-500">Checking whether this model can be proven…</p>;
  if (zk.error) return <p className="text-xs text-red-700">{toUiError(zk.error).message}</p>;
  const z = zk.data;
  if (z.status === "unsupported" || z.status === "failed") {
    return (
      <p className="text-xs text-red-700" data-testid="zk-status" data-status={z.status}>
        This model cannot take zk tasks: {z.message}
      </p>
    );
  }
  return (
    <p className="text-xs text-slate-600" data-testid="zk-status" data-status={z.status}>
      {z.status === "compiling" ? "Building the model's circuit (tasks wait for it). " : "Circuit ready. "}
      {z.constraints?.toLocaleString()} constraints · proving fee {formatAmount(z.fee ?? "0")} per execution, on top of the provider's price.
    </p>
  );
}

type Privacy = "clear" | "tee";

/** How an attested provider reads in the list: simulated ones say they prove nothing. */
export const teeProviderLabel = (p: ProviderPublic): string =>
  `${p.name} · ${p.tee?.kind} · price ${formatAmount(p.price)}${p.tee?.simulated ? " · SIMULATED TEE — development only, proves nothing" : ""}`;

/**
 * Private (TEE): the attested provider to seal to, this page's own verification of its evidence
 * (live, so a refusal shows before anything is sent), and the development-only switch for
 * simulated evidence.
 */
function TeeOptions({
  providers,
  providerId,
  onProvider,
  allowSimulated,
  onAllowSimulated,
}: {
  providers: ProviderPublic[] | undefined;
  providerId: string;
  onProvider: (id: string) => void;
  allowSimulated: boolean;
  onAllowSimulated: (v: boolean) => void;
}) {
  const ids = useId();
  const verified = useQuery({
    queryKey: ["tee.verifyInPage", providerId, allowSimulated],
    queryFn: () => verifyProviderInPage(providerId, allowSimulated),
    enabled: !!providerId,
    retry: false,
    staleTime: 10_000,
  });
  const refusal = verified.error ? toUiError(verified.error) : null;
  return (
    <div className="mt-3 space-y-3 rounded-lg border border-slate-200 p-4 text-sm" data-testid="tee-options">
      <p className="text-xs text-slate-600">
        The inputs are encrypted in this page to a key that provider&apos;s TEE evidence binds, after this page verifies that evidence itself; the server only relays ciphertext. The outputs come back
        sealed to a reply key kept in this tab only (sessionStorage): close the tab or the browser and they can no longer be read.
      </p>
      {!providers ? (
        <p className="text-xs text-slate-500">Loading the attested providers…</p>
      ) : providers.length === 0 ? (
        <p role="alert" className="text-sm text-red-700" data-testid="tee-none">
          No provider with attested TEE evidence is online: a private task cannot be sealed now.
        </p>
      ) : (
        <>
          <label className="block">
            <span className="block font-medium text-slate-800">Attested provider</span>
            <select id={`${ids}-provider`} className={`${inputBase} mt-1.5 w-full`} value={providerId} onChange={(e) => onProvider(e.target.value)}>
              {providers.map((p) => (
                <option key={p.id} value={p.id}>
                  {teeProviderLabel(p)}
                </option>
              ))}
            </select>
          </label>
          <label className="flex items-center gap-2 text-slate-700">
            <input type="checkbox" checked={allowSimulated} onChange={(e) => onAllowSimulated(e.target.checked)} className="size-4 accent-brand-600" />
            Accept simulated TEE (development)
          </label>
          <div data-testid="tee-verification" data-state={verified.isPending ? "pending" : refusal ? "refused" : "verified"} aria-live="polite">
            {verified.isPending ? (
              <p className="text-xs text-slate-500">Verifying the provider&apos;s evidence in this page…</p>
            ) : verified.isError ? (
              <p role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                <code className="mr-2 rounded bg-red-100 px-1.5 py-0.5 font-mono text-xs">{refusal?.code}</code>
                {refusal?.message}
              </p>
            ) : (
              <p className="flex flex-wrap items-center gap-2 text-xs text-slate-700">
                <Badge tone="green">verified in this page</Badge>
                {verified.data.simulated ? <Badge tone="amber">SIMULATED TEE — development only, proves nothing</Badge> : null}
                <span>
                  {verified.data.kind} · measurement <Mono>{shortHash(verified.data.measurement, 12)}</Mono> · evidence <Mono>{shortHash(verified.data.evidenceSha256, 12)}</Mono>
                </span>
              </p>
            )}
          </div>
        </>
      )}
    </div>
  );
}

/** The run form generated from a model's input signature. */
export function SubmitForm({ model }: { model: ModelView }) {
  const router = useRouter();
  const ids = useId();
  const [inputs, setInputs] = useState<Record<string, InputState>>(() => Object.fromEntries(model.inputs.map((i) => [i.name, { source: "text", text: "" } satisfies InputState])));
  const [mode, setMode] = useState<VerificationMode>("auto");
  const [replicas, setReplicas] = useState(2);
  const [argmax, setArgmax] = useState(false);
  const [maxPrice, setMaxPrice] = useState("");
  const [formError, setFormError] = useState<UiError | null>(null);
  const [privacy, setPrivacy] = useState<Privacy>("clear");
  const [teeChoice, setTeeChoice] = useState("");
  const [allowSimulated, setAllowSimulated] = useState(false);
  const providers = useQuery({ queryKey: ["network.providers"], queryFn: () => trpc.network.providers.query(), enabled: privacy === "tee", staleTime: 5_000 });
  const attested = providers.data?.providers.filter((p) => p.tee?.status === "attested");
  const teeProviderId = attested?.some((p) => p.id === teeChoice) ? teeChoice : (attested?.[0]?.id ?? "");

  const submit = useMutation({
    mutationFn: async (tensors: Record<string, RawTensor>) => {
      const price = maxPrice.trim() ? { maxPrice: maxPrice.trim() } : {};
      if (privacy === "tee") {
        if (!teeProviderId) throw new ClientError("NO_ATTESTED_PROVIDER", "No provider with attested TEE evidence is online to seal this task to.");
        // The provider's current evidence, verified here again (it may have re-attested), then sealed here: only ciphertext leaves the page.
        const attestation = await verifyProviderInPage(teeProviderId, allowSimulated);
        const { sealed, key } = await sealInPage(attestation, model.sha256, tensors);
        const res = await trpc.tasks.submit.mutate({ modelId: model.id, inputs: {}, requirements: { privacy: "tee" }, sealed, ...price });
        storeSealedKey(res.id, key);
        return res;
      }
      return trpc.tasks.submit.mutate({
        modelId: model.id,
        inputs: tensorMapToJson(tensors),
        verification: { mode, ...(mode === "redundant" ? { replicas } : {}), ...(mode !== "none" && mode !== "zk" && argmax ? { argmax: true } : {}) },
        ...price,
      });
    },
    onSuccess: (res) => router.push(`/task?id=${res.id}`),
  });

  const priceInvalid = maxPrice.trim() !== "" && !/^(0|[1-9]\d{0,29})$/.test(maxPrice.trim());
  const executions = privacy === "tee" || mode === "none" || mode === "zk" ? 1 : (mode === "redundant" ? replicas : 2) + 1;
  const perExecution = maxPrice.trim() && !priceInvalid ? BigInt(maxPrice.trim()) : BigInt(DEFAULT_MAX_PRICE);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    submit.reset();
    const next: Record<string, InputState> = { ...inputs };
    const tensors: Record<string, RawTensor> = {};
    const bound = new Map<string, number>();
    // Inputs with files first: their sizes bind the symbolic dims that typed values then follow.
    const ordered = [...model.inputs].sort((a, b) => Number(inputs[a.name]!.source === "text") - Number(inputs[b.name]!.source === "text"));
    let failed = false;
    for (const info of ordered) {
      const s = inputs[info.name]!;
      try {
        const t = s.source === "text" ? parseTextInput(info, s.text, bound) : s.file?.tensor;
        if (!t) throw new StunError("INPUT_MISSING", `${info.name}: choose a file`);
        tensors[info.name] = t;
        bindDims(info, t.dims, bound);
        next[info.name] = { ...s, error: undefined };
      } catch (err) {
        next[info.name] = { ...s, error: toUiError(err) };
        failed = true;
      }
    }
    if (!failed) {
      try {
        validateInputsAgainstSignature(tensors, model.inputs);
      } catch (err) {
        const ui = toUiError(err);
        const name = /input "([^"]+)"/.exec(ui.message)?.[1];
        if (name && next[name]) next[name] = { ...next[name]!, error: ui };
        else setFormError(ui);
        failed = true;
      }
    }
    setInputs(next);
    if (failed || priceInvalid) {
      // Move focus to the first problem so keyboard and screen-reader users land on it.
      requestAnimationFrame(() => document.querySelector<HTMLElement>("[aria-invalid=true]")?.focus());
      return;
    }
    submit.mutate(tensors);
  };

  const serverError = submit.error ? toUiError(submit.error) : null;
  const refusedHere = submit.error instanceof ClientError;
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-5" aria-label="Run this model">
      <div className="space-y-4">
        {model.inputs.map((info) => (
          <InputField key={info.name} info={info} state={inputs[info.name]!} onChange={(s) => setInputs((all) => ({ ...all, [info.name]: s }))} />
        ))}
      </div>

      <fieldset>
        <legend className="text-sm font-medium text-slate-800">Privacy</legend>
        <div className="mt-2 grid gap-2 sm:grid-cols-2">
          {(
            [
              ["clear", "Standard", "Inputs and outputs travel in the clear to the server and the providers, which lets results be verified by replication."],
              ["tee", "Private (TEE)", "Inputs sealed in this page to one attested TEE provider; the server and everyone else see only ciphertext."],
            ] as Array<[Privacy, string, string]>
          ).map(([p, title, text]) => (
            <label
              key={p}
              className={cx(
                "cursor-pointer rounded-lg border p-3 text-sm has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-brand-500",
                privacy === p ? "border-brand-500 bg-brand-50/60 ring-1 ring-brand-500" : "border-slate-200 hover:border-slate-300",
              )}
            >
              <span className="flex items-center gap-2 font-medium text-slate-900">
                <input
                  type="radio"
                  name="privacy"
                  value={p}
                  checked={privacy === p}
                  onChange={() => {
                    setPrivacy(p);
                    submit.reset();
                  }}
                  className="accent-brand-600"
                />
                {title}
              </span>
              <span className="mt-1 block text-xs text-slate-600">{text}</span>
            </label>
          ))}
        </div>
        {privacy === "tee" ? (
          <TeeOptions
            providers={attested}
            providerId={teeProviderId}
            onProvider={(id) => {
              setTeeChoice(id);
              submit.reset();
            }}
            allowSimulated={allowSimulated}
            onAllowSimulated={(v) => {
              setAllowSimulated(v);
              submit.reset();
            }}
          />
        ) : null}
      </fieldset>

      {privacy === "tee" ? (
        <p className="text-sm text-slate-600">
          <span className="font-medium text-slate-800">Verification:</span> a sealed task runs once, inside the TEE you seal to; what vouches for it is the attestation, not replication.
        </p>
      ) : (
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">Verification</legend>
          <div className="mt-2 grid gap-2 sm:grid-cols-2 lg:grid-cols-4">
            {MODES.map((m) => (
              <label
                key={m.mode}
                className={cx(
                  "cursor-pointer rounded-lg border p-3 text-sm has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-brand-500",
                  mode === m.mode ? "border-brand-500 bg-brand-50/60 ring-1 ring-brand-500" : "border-slate-200 hover:border-slate-300",
                )}
              >
                <span className="flex items-center gap-2 font-medium text-slate-900">
                  <input type="radio" name="verification" value={m.mode} checked={mode === m.mode} onChange={() => setMode(m.mode)} className="accent-brand-600" />
                  {m.title}
                </span>
                <span className="mt-1 block text-xs text-slate-600">{m.text}</span>
              </label>
            ))}
          </div>
          <div className="mt-3 flex flex-wrap items-center gap-5 text-sm">
            {mode === "redundant" ? (
              <label className="flex items-center gap-2">
                Replicas
                <select className={`${inputBase} w-20`} value={replicas} onChange={(e) => setReplicas(Number(e.target.value))}>
                  {[2, 3, 4, 5].map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </label>
            ) : null}
            {mode === "zk" ? <ZkNote modelId={model.id} /> : null}
            {mode !== "none" && mode !== "zk" ? (
              <label className="flex items-center gap-2 text-slate-700">
                <input type="checkbox" checked={argmax} onChange={(e) => setArgmax(e.target.checked)} className="size-4 accent-brand-600" />
                Compare results by argmax (classifiers)
              </label>
            ) : null}
          </div>
        </fieldset>
      )}

      <div className="flex flex-wrap items-end gap-4">
        <div>
          <label htmlFor={`${ids}-price`} className="block text-sm font-medium text-slate-800">
            Max price per execution <span className="font-normal text-slate-500">(base units)</span>
          </label>
          <input
            id={`${ids}-price`}
            inputMode="numeric"
            className={`${inputBase} mt-1.5 w-full max-w-xs`}
            placeholder={`${DEFAULT_MAX_PRICE} (server default)`}
            value={maxPrice}
            onChange={(e) => setMaxPrice(e.target.value)}
            aria-invalid={priceInvalid || undefined}
            aria-describedby={priceInvalid ? `${ids}-price-error` : `${ids}-price-help`}
          />
          {priceInvalid ? (
            <FieldError id={`${ids}-price-error`}>A whole number of base units, e.g. 1000.</FieldError>
          ) : (
            <p id={`${ids}-price-help`} className="mt-1.5 text-xs text-slate-500">
              Escrow holds up to {formatAmount(perExecution * BigInt(executions))} ({executions} execution{executions > 1 ? "s" : ""} × price); the unspent part comes back.
            </p>
          )}
        </div>
      </div>

      {formError ? <ErrorNotice error={formError} title="Check the inputs" /> : null}
      {serverError ? <ErrorNotice error={serverError} title={refusedHere ? "Nothing was sent: this page refused to seal the task" : "The server refused the task"} /> : null}

      <div className="flex items-center gap-3">
        <Button type="submit" disabled={submit.isPending || submit.isSuccess}>
          {submit.isPending || submit.isSuccess ? "Submitting…" : "Run task"}
        </Button>
        <span className="text-xs text-slate-500">You are redirected to the task&apos;s live status.</span>
      </div>
    </form>
  );
}
