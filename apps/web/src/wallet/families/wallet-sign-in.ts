import { useState } from "react";
import type { WalletSignInResponse } from "@stun/shared";
import { toUiError, type UiError } from "@/lib/errors";

/**
 * A wallet sign-in (or link, with `apiKey`) as a hook: `run` reports progress in `pending`, and any
 * failure — the wallet's or the server's code and message — in `error` instead of throwing.
 */
export function useWalletSignIn<W>(signIn: (wallet: W, apiKey: string | null) => Promise<WalletSignInResponse>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const run = async (wallet: W, apiKey: string | null): Promise<WalletSignInResponse | undefined> => {
    setPending(true);
    setError(null);
    try {
      return await signIn(wallet, apiKey);
    } catch (e) {
      setError(toUiError(e));
      return undefined;
    } finally {
      setPending(false);
    }
  };
  return { pending, error, run };
}
