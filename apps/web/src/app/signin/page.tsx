"use client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import dynamic from "next/dynamic";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useId, useState, type FormEvent } from "react";
import { Button, Card, CopyButton, ErrorNotice, FieldError, PageHeader, inputClass } from "@/components/ui";
import { maskKey, setApiKey, useApiKey } from "@/lib/api-key";
import { toUiError, type UiError } from "@/lib/errors";
import { formatAmount } from "@/lib/format";
import { safeNext } from "@/lib/safe-next";
import { accountWithKey, createAccount, faucet, fetchWebConfig } from "@/lib/rest";

/** Sign-In with Ethereum (wagmi + viem), loaded after the page. */
const SiweCard = dynamic(() => import("@/wallet/siwe-card"), { ssr: false });
/** Sign-In With Solana and TonConnect ton_proof (wallet adapter, TonConnect), loaded after the page. */
const OtherWalletsSignInCard = dynamic(() => import("@/wallet/families/wallet-families").then((m) => m.OtherWalletsSignInCard), { ssr: false });

/** Local accounts start with this much from the faucet. */
const STARTING_FUNDS = "1000000";

function SignIn() {
  const router = useRouter();
  const params = useSearchParams();
  // Rendered in the browser only (useSearchParams inside Suspense), so window is there.
  const next = safeNext(params.get("next"), window.location.origin);
  const queryClient = useQueryClient();
  const current = useApiKey();
  const keyId = useId();
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const [created, setCreated] = useState<{ apiKey: string; accountId: string; balance: string } | null>(null);
  const [createError, setCreateError] = useState<UiError | null>(null);
  const [creating, setCreating] = useState(false);
  const config = useQuery({ queryKey: ["web-config"], queryFn: fetchWebConfig, staleTime: Infinity, retry: false });

  const signIn = async (apiKey: string) => {
    setApiKey(apiKey);
    await queryClient.resetQueries();
    router.push(next);
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const k = key.trim();
    if (!/^stun_\S+$/.test(k)) {
      setError({ code: "VALIDATION_FAILED", message: "An API key looks like stun_… (as printed by npm start or shown when an account is created)." });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await accountWithKey(k);
      await signIn(k);
    } catch (err) {
      setError(toUiError(err));
    } finally {
      setBusy(false);
    }
  };

  const onCreate = async () => {
    setCreating(true);
    setCreateError(null);
    try {
      const acc = await createAccount();
      const view = await faucet(acc.apiKey, STARTING_FUNDS);
      setCreated({ apiKey: acc.apiKey, accountId: acc.accountId, balance: view.balance });
      setApiKey(acc.apiKey);
      await queryClient.resetQueries();
    } catch (err) {
      setCreateError(toUiError(err));
    } finally {
      setCreating(false);
    }
  };

  const errorId = `${keyId}-error`;
  return (
    <div className="mx-auto max-w-xl">
      <PageHeader title="Sign in" subtitle="Stun identifies requesters by API key. The key stays in this browser (localStorage) and is sent only to this server." />
      {current ? (
        <p className="mb-4 rounded-lg border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-800">
          Signed in as <span className="font-mono">{maskKey(current)}</span>. Signing in again replaces it.
        </p>
      ) : null}
      <Card>
        <form onSubmit={onSubmit} noValidate>
          <label htmlFor={keyId} className="block text-sm font-medium text-slate-800">
            API key
          </label>
          <input
            id={keyId}
            name="apiKey"
            type="password"
            autoComplete="off"
            spellCheck={false}
            className={`${inputClass} mt-1.5 font-mono`}
            placeholder="stun_…"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
          />
          {error ? (
            <FieldError id={errorId}>
              <code className="font-mono text-xs">{error.code}</code> {error.code === "UNAUTHORIZED" ? "This key is not known to this server." : error.message}
            </FieldError>
          ) : null}
          <Button type="submit" className="mt-4 w-full" disabled={busy}>
            {busy ? "Checking…" : "Sign in"}
          </Button>
        </form>
      </Card>

      <SiweCard onSignedIn={signIn} />
      <OtherWalletsSignInCard onSignedIn={signIn} />

      {config.data?.faucet ? (
        <Card className="mt-6" title="New here? Create a local account">
          {created ? (
            <div className="space-y-3 text-sm">
              <p className="text-slate-700">
                Account <span className="font-mono">{created.accountId}</span> created with {formatAmount(created.balance)} test units from the faucet. This is its API key — it is shown only once,
                keep it:
              </p>
              <div className="flex items-center gap-2 rounded-lg border border-slate-200 bg-slate-50 px-3 py-2">
                <code className="min-w-0 flex-1 break-all font-mono text-xs" data-testid="new-api-key">
                  {created.apiKey}
                </code>
                <CopyButton text={created.apiKey} />
              </div>
              <Button onClick={() => router.push(next)}>Continue</Button>
            </div>
          ) : (
            <div className="space-y-3 text-sm text-slate-600">
              <p>This server runs in local mode: a new account gets {formatAmount(STARTING_FUNDS)} test units from the faucet to pay for tasks.</p>
              {createError ? <ErrorNotice error={createError} title="Could not create an account" /> : null}
              <Button variant="secondary" onClick={onCreate} disabled={creating}>
                {creating ? "Creating…" : "Create a local account"}
              </Button>
            </div>
          )}
        </Card>
      ) : null}
    </div>
  );
}

export default function SignInPage() {
  return (
    <Suspense>
      <SignIn />
    </Suspense>
  );
}
