"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useRef, useState, type DragEvent } from "react";
import { ModelList } from "@/components/model-list";
import { SignedIn } from "@/components/signed-in";
import { Button, ButtonLink, Card, EmptyState, ErrorNotice, LoadingCard, PageHeader, cx, inputClass } from "@/components/ui";
import { toUiError } from "@/lib/errors";
import { formatBytes } from "@/lib/format";
import { uploadModel } from "@/lib/rest";
import { trpc } from "@/lib/trpc";

function Upload() {
  const queryClient = useQueryClient();
  const inputRef = useRef<HTMLInputElement>(null);
  const fileId = useId();
  const nameId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [dragging, setDragging] = useState(false);
  const upload = useMutation({
    mutationFn: (f: File) => uploadModel(f, name.trim() || f.name.replace(/\.onnx$/i, "")),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["models.list"] });
    },
  });

  const choose = (f: File | undefined) => {
    if (!f) return;
    setFile(f);
    upload.reset();
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    choose(e.dataTransfer.files[0]);
  };
  const error = upload.error ? toUiError(upload.error) : null;

  return (
    <Card title="Upload a model" id="upload">
      <div
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        className={cx(
          "flex flex-col items-center justify-center rounded-lg border-2 border-dashed px-6 py-8 text-center transition-colors",
          dragging ? "border-brand-500 bg-brand-50" : "border-slate-300 bg-slate-50/50",
        )}
      >
        <svg aria-hidden viewBox="0 0 24 24" className="size-8 text-slate-400" fill="none" stroke="currentColor" strokeWidth="1.5">
          <path d="M12 16V4m0 0-4 4m4-4 4 4M4 16v2a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-2" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        <p className="mt-2 text-sm text-slate-700">
          Drop an <span className="font-mono">.onnx</span> file here, or{" "}
          <label htmlFor={fileId} className="cursor-pointer font-medium text-brand-700 underline-offset-2 hover:underline">
            choose one
          </label>
        </p>
        <input ref={inputRef} id={fileId} type="file" accept=".onnx,application/octet-stream" className="sr-only" aria-label="ONNX model file" onChange={(e) => choose(e.target.files?.[0])} />
        {file ? (
          <p className="mt-2 text-sm text-slate-600" data-testid="chosen-file">
            <span className="font-mono">{file.name}</span> · {formatBytes(file.size)}
          </p>
        ) : (
          <p className="mt-1 text-xs text-slate-500">The server reads its inputs and outputs and checks that onnxruntime can load it.</p>
        )}
      </div>
      <form
        className="mt-4 flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (file) upload.mutate(file);
        }}
      >
        <div className="min-w-[12rem] flex-1">
          <label htmlFor={nameId} className="block text-sm font-medium text-slate-800">
            Name <span className="font-normal text-slate-500">(optional)</span>
          </label>
          <input id={nameId} className={`${inputClass} mt-1.5`} maxLength={200} value={name} onChange={(e) => setName(e.target.value)} placeholder={file?.name.replace(/\.onnx$/i, "") ?? "my-model"} />
        </div>
        <Button type="submit" disabled={!file || upload.isPending}>
          {upload.isPending ? "Uploading…" : "Upload"}
        </Button>
      </form>
      {error ? (
        <div className="mt-4">
          <ErrorNotice error={error} title="Upload rejected" />
        </div>
      ) : null}
      {upload.data ? (
        <div role="status" className="mt-4 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900">
          <span>
            Uploaded <span className="font-medium">{upload.data.name}</span> (<span className="font-mono">{upload.data.id}</span>).
          </span>
          <ButtonLink href={`/model?id=${upload.data.id}`} size="sm">
            Open and run
          </ButtonLink>
        </div>
      ) : null}
    </Card>
  );
}

function Models() {
  const models = useQuery({ queryKey: ["models.list"], queryFn: () => trpc.models.list.query({ limit: 100 }) });
  const me = useQuery({ queryKey: ["accounts.me"], queryFn: () => trpc.accounts.me.query() });
  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,5fr)_minmax(0,7fr)]">
      <div>
        <Upload />
      </div>
      <div>
        {models.isPending ? (
          <LoadingCard label="Loading models" />
        ) : models.isError ? (
          <ErrorNotice error={toUiError(models.error)} title="Could not load models" onRetry={() => void models.refetch()} />
        ) : (
          <Card title={`Models (${models.data.models.length})`}>
            {models.data.models.length === 0 ? (
              <EmptyState title="No models yet">Upload an ONNX file to make it available to run on the network.</EmptyState>
            ) : (
              <ModelList models={models.data.models} {...(me.data ? { accountId: me.data.accountId } : {})} />
            )}
          </Card>
        )}
      </div>
    </div>
  );
}

export default function ModelsPage() {
  return (
    <>
      <PageHeader title="Models" subtitle="ONNX models stored by content: anyone can run them, and the uploader earns 5% of every task." />
      <SignedIn what="models">{() => <Models />}</SignedIn>
    </>
  );
}
