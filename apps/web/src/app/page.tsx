"use client";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { ModelList } from "@/components/model-list";
import { ButtonLink, Card, EmptyState, ErrorNotice, Skeleton, Stat } from "@/components/ui";
import { useApiKey } from "@/lib/api-key";
import { toUiError } from "@/lib/errors";
import { formatAmount } from "@/lib/format";
import { trpc } from "@/lib/trpc";

const STEPS = [
  { title: "Upload a model", text: "Any ONNX file. It is stored by content; its inputs and outputs are read from the graph." },
  { title: "Submit inputs", text: "Numbers, .npy files or images. Escrow holds the price until a verified result is in." },
  { title: "Get a verified result", text: "Providers' results are compared; 80% goes to providers, 15% to the treasury, 5% to the model's creator." },
];

function Network({ apiKey }: { apiKey: string }) {
  const stats = useQuery({ queryKey: ["network.stats"], queryFn: () => trpc.network.stats.query(), refetchInterval: 5_000 });
  const models = useQuery({ queryKey: ["models.list"], queryFn: () => trpc.models.list.query({ limit: 100 }) });
  const me = useQuery({ queryKey: ["accounts.me", apiKey], queryFn: () => trpc.accounts.me.query() });
  const s = stats.data;
  return (
    <>
      {stats.isError ? (
        <ErrorNotice error={toUiError(stats.error)} title="Could not load the network summary" />
      ) : (
        <dl className="grid grid-cols-2 gap-4 lg:grid-cols-4" aria-busy={!s}>
          <Stat label="Providers online" value={s ? s.providersOnline : <Skeleton className="h-8 w-12" />} />
          <Stat
            label="Tasks completed"
            value={s ? formatAmount(String(s.tasks.completed ?? 0)) : <Skeleton className="h-8 w-16" />}
            hint={s ? `${formatAmount(String(Object.values(s.tasks).reduce((a, b) => a + b, 0)))} submitted` : undefined}
          />
          <Stat label="Volume" value={s ? formatAmount(s.volume) : <Skeleton className="h-8 w-20" />} hint="base units settled" />
          <Stat label="Models" value={s ? s.models : <Skeleton className="h-8 w-10" />} />
        </dl>
      )}
      <Card
        className="mt-6"
        title="Models on the marketplace"
        actions={
          <Link href="/models" className="rounded text-sm font-medium text-brand-700 hover:underline">
            All models →
          </Link>
        }
      >
        {models.isPending ? (
          <div className="space-y-3">
            <Skeleton className="h-10 w-full" />
            <Skeleton className="h-10 w-full" />
          </div>
        ) : models.isError ? (
          <ErrorNotice error={toUiError(models.error)} title="Could not load models" />
        ) : models.data.models.length === 0 ? (
          <EmptyState title="No models yet" action={<ButtonLink href="/models">Upload the first one</ButtonLink>}>
            Upload an ONNX model and run it on the network.
          </EmptyState>
        ) : (
          <ModelList models={models.data.models.slice(0, 6)} compact {...(me.data ? { accountId: me.data.accountId } : {})} />
        )}
      </Card>
    </>
  );
}

export default function Home() {
  const key = useApiKey();
  return (
    <div className="space-y-8">
      <section className="relative overflow-hidden rounded-2xl bg-gradient-to-br from-brand-900 via-brand-700 to-brand-500 px-6 py-10 text-white shadow-lg sm:px-10">
        <div aria-hidden className="pointer-events-none absolute -right-16 -top-24 size-72 rounded-full bg-white/10 blur-2xl" />
        <div aria-hidden className="pointer-events-none absolute -bottom-28 right-40 size-60 rounded-full bg-sky-300/20 blur-2xl" />
        <p className="text-sm font-medium uppercase tracking-widest text-brand-100">Open inference marketplace</p>
        <h1 className="mt-3 max-w-3xl text-3xl font-semibold tracking-tight sm:text-4xl">Run AI models on anyone&apos;s GPU or browser — with results checked and payment in escrow.</h1>
        <p className="mt-3 max-w-2xl text-brand-100">Requesters pay per inference; providers earn by running ONNX models natively (CUDA, CPU) or right in a browser tab (WebGPU, WASM).</p>
        <div className="mt-6 flex flex-wrap gap-3">
          <Link href="/models" className="rounded-lg bg-white px-4 py-2 text-sm font-semibold text-brand-700 shadow-sm hover:bg-brand-50">
            Run a model
          </Link>
          <Link href="/provide" prefetch={false} className="rounded-lg px-4 py-2 text-sm font-semibold text-white ring-1 ring-inset ring-white/50 hover:bg-white/10">
            Contribute compute
          </Link>
        </div>
      </section>

      {key === undefined ? (
        <Skeleton className="h-24 w-full" />
      ) : key ? (
        <Network apiKey={key} />
      ) : (
        <Card>
          <div className="flex flex-wrap items-center justify-between gap-4">
            <div>
              <p className="font-medium text-slate-900">Sign in to see the network and its models</p>
              <p className="mt-1 text-sm text-slate-600">Use an API key (npm start prints one) or create a local account.</p>
            </div>
            <ButtonLink href="/signin?next=%2F">Sign in</ButtonLink>
          </div>
        </Card>
      )}

      <section aria-labelledby="how" className="grid gap-4 md:grid-cols-3">
        <h2 id="how" className="sr-only">
          How it works
        </h2>
        {STEPS.map((s, i) => (
          <div key={s.title} className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
            <span className="flex size-7 items-center justify-center rounded-full bg-brand-50 text-sm font-semibold text-brand-700">{i + 1}</span>
            <h3 className="mt-3 font-medium text-slate-900">{s.title}</h3>
            <p className="mt-1 text-sm text-slate-600">{s.text}</p>
          </div>
        ))}
      </section>

      <section className="flex flex-wrap items-center justify-between gap-4 rounded-2xl border border-brand-200 bg-brand-50 px-6 py-6">
        <div>
          <h2 className="text-lg font-semibold text-slate-900">Have a GPU, or just a browser?</h2>
          <p className="mt-1 text-sm text-slate-700">Open the Contribute tab to run tasks in this browser with WebGPU or WASM and earn for every verified result.</p>
        </div>
        <Link href="/provide" prefetch={false} className="rounded-lg bg-brand-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-brand-700">
          Start contributing
        </Link>
      </section>
    </div>
  );
}
