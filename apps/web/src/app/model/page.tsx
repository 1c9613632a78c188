"use client";
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { SignatureTable } from "@/components/signature";
import { SignedIn } from "@/components/signed-in";
import { SubmitForm } from "@/components/submit-form";
import { ButtonLink, Card, CopyButton, EmptyState, ErrorNotice, KeyValues, LoadingCard, Mono, PageHeader } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { formatBytes, formatTime, shortHash } from "@/lib/format";
import { trpc } from "@/lib/trpc";

function Model({ id }: { id: string }) {
  const model = useQuery({ queryKey: ["models.get", id], queryFn: () => trpc.models.get.query({ id }), staleTime: Infinity });
  if (model.isPending) return <LoadingCard label="Loading the model" rows={5} />;
  if (model.isError) return <ErrorNotice error={toUiError(model.error)} title="Could not load this model" onRetry={() => void model.refetch()} />;
  const m = model.data;
  return (
    <>
      <PageHeader
        title={m.name}
        subtitle={
          <span className="inline-flex items-center gap-1">
            <Mono>{m.id}</Mono> <CopyButton text={m.id} label="Copy id" />
          </span>
        }
        actions={
          <ButtonLink href="/models" variant="secondary" size="sm">
            All models
          </ButtonLink>
        }
      />
      <div className="grid gap-6 lg:grid-cols-[minmax(0,5fr)_minmax(0,7fr)]">
        <div className="space-y-6">
          <Card title="Signature" id="signature">
            <div className="space-y-5">
              <SignatureTable title="Inputs" tensors={m.inputs} />
              <SignatureTable title="Outputs" tensors={m.outputs} />
            </div>
            <p className="mt-4 text-xs text-slate-500">
              <span className="font-mono text-amber-700">Named</span> dimensions are symbolic: any size, the same wherever the name appears.
            </p>
          </Card>
          <Card title="Details">
            <KeyValues
              rows={[
                ["Size", formatBytes(m.sizeBytes)],
                [
                  "SHA-256",
                  <span key="sha" title={m.sha256}>
                    <Mono>{shortHash(m.sha256, 12)}</Mono> <CopyButton text={m.sha256} />
                  </span>,
                ],
                ["Creator", <Mono key="owner">{m.ownerId}</Mono>],
                ["Uploaded", formatTime(m.createdAt)],
              ]}
            />
          </Card>
        </div>
        <Card title="Run this model" id="run">
          {m.inputs.length === 0 ? <EmptyState title="This model takes no inputs">There is nothing to fill in; Stun tasks need at least one input.</EmptyState> : <SubmitForm model={m} />}
        </Card>
      </div>
    </>
  );
}

function ModelPage() {
  const id = useSearchParams().get("id");
  if (!id) {
    return (
      <EmptyState title="No model selected" action={<ButtonLink href="/models">Browse models</ButtonLink>}>
        Open a model from the models list.
      </EmptyState>
    );
  }
  return <SignedIn what="this model">{() => <Model id={id} />}</SignedIn>;
}

export default function Page() {
  return (
    <Suspense fallback={<LoadingCard label="Loading" />}>
      <ModelPage />
    </Suspense>
  );
}
