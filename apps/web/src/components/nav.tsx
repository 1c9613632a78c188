"use client";
import dynamic from "next/dynamic";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useQuery } from "@tanstack/react-query";
import { useApiKey } from "@/lib/api-key";
import { trpc } from "@/lib/trpc";
import { formatAmount } from "@/lib/format";
import { cx } from "./ui";

/** The wallet control (wagmi + viem) loads after the page, so pages without wallets stay light. */
const ConnectWallet = dynamic(() => import("@/wallet/connect-button"), { ssr: false, loading: () => <span className="h-8 w-28" aria-hidden /> });

const LINKS: Array<{ href: string; label: string; match: string[]; prefetch?: boolean }> = [
  { href: "/", label: "Marketplace", match: ["/"] },
  { href: "/models", label: "Models", match: ["/models", "/model"] },
  { href: "/tasks", label: "Tasks", match: ["/tasks", "/task"] },
  { href: "/account", label: "Account", match: ["/account"] },
  // The Contribute tab is its own heavy page (onnxruntime-web): no prefetch.
  { href: "/provide", label: "Contribute", match: ["/provide"], prefetch: false },
  { href: "/network", label: "Network", match: ["/network"] },
];

function Logo() {
  return (
    <Link href="/" className="flex items-center gap-2 rounded-md font-semibold tracking-tight text-slate-900" aria-label="Stun home">
      <svg aria-hidden viewBox="0 0 32 32" className="size-7">
        <rect width="32" height="32" rx="8" className="fill-brand-600" />
        <path
          d="M9 20.5c1.6 1.5 3.8 2.3 6.4 2.3 3.6 0 5.9-1.7 5.9-4.4 0-2.4-1.6-3.5-5.1-4.2l-1.6-.3c-1.9-.4-2.6-.9-2.6-1.8 0-1.1 1.1-1.8 2.8-1.8 1.6 0 3 .6 4.1 1.6l1.8-2.2C19.3 8.4 17.3 7.6 15 7.6c-3.4 0-5.7 1.8-5.7 4.4 0 2.3 1.5 3.5 4.8 4.1l1.6.3c2.1.4 2.9.9 2.9 1.9 0 1.2-1.2 1.9-3.1 1.9-2 0-3.6-.7-4.9-2z"
          className="fill-white"
        />
      </svg>
      <span className="text-lg">Stun</span>
    </Link>
  );
}

function AccountChip() {
  const key = useApiKey();
  const me = useQuery({ queryKey: ["accounts.me", key], queryFn: () => trpc.accounts.me.query(), enabled: !!key, refetchInterval: 10_000 });
  if (key === undefined) return <span className="h-8 w-24" aria-hidden />;
  if (!key) {
    return (
      <Link href="/signin" className="rounded-lg bg-brand-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-brand-700">
        Sign in
      </Link>
    );
  }
  return (
    <Link href="/account" className="flex items-center gap-2 rounded-lg border border-slate-200 bg-white px-3 py-1.5 text-sm shadow-sm hover:bg-slate-50" title="Your balance (base units)">
      <span aria-hidden className="size-2 rounded-full bg-emerald-500" />
      <span className="tabular-nums text-slate-800" data-testid="nav-balance">
        {me.data ? formatAmount(me.data.balance) : me.isError ? "key refused" : "…"}
      </span>
      <span className="sr-only">balance</span>
    </Link>
  );
}

export function Nav() {
  const path = usePathname() ?? "/";
  const clean = path !== "/" ? path.replace(/\/$/, "").replace(/\.html$/, "") : "/";
  return (
    <header className="sticky top-0 z-20 border-b border-slate-200 bg-white/90 backdrop-blur">
      <a href="#main" className="sr-only rounded bg-white px-3 py-2 focus:not-sr-only focus:absolute focus:left-2 focus:top-2">
        Skip to content
      </a>
      <div className="mx-auto flex max-w-6xl items-center gap-6 px-4 py-3 sm:px-6">
        <Logo />
        <nav aria-label="Main" className="-mx-2 flex flex-1 items-center gap-1 overflow-x-auto">
          {LINKS.map((l) => {
            const active = l.match.includes(clean);
            return (
              <Link
                key={l.href}
                href={l.href}
                {...(l.prefetch === false ? { prefetch: false } : {})}
                aria-current={active ? "page" : undefined}
                className={cx(
                  "whitespace-nowrap rounded-md px-3 py-1.5 text-sm font-medium transition-colors",
                  active ? "bg-brand-50 text-brand-700" : "text-slate-600 hover:bg-slate-100 hover:text-slate-900",
                )}
              >
                {l.label}
              </Link>
            );
          })}
        </nav>
        <div className="flex items-center gap-2">
          <ConnectWallet />
          <AccountChip />
        </div>
      </div>
    </header>
  );
}
