/**
 * Distinct identities per quorum: the executions that check one another (replicas, audits,
 * tie-breakers, re-checks) run on providers of different operators, so that nobody verifies
 * their own work. Pure functions over plain data: the dispatcher and the result path run them
 * against the database, and bench/qa-sim runs the very same functions (docs/QA.md § Identities).
 *
 * An operator is known by its account and by its links: the wallet addresses tied to the account
 * on every chain family (its signed-in EVM, Solana and TON wallets, the senders of its deposits,
 * the destinations of its withdrawals and payouts). Two accounts that share a link are one operator. The network prefix of a provider's connection
 * (a /24 for IPv4, a /48 for IPv6) is a softer signal: preferred distinct, required only when the
 * policy says so, since honest providers behind one NAT or in one cloud region share prefixes.
 */

export interface Identity {
  account: string;
  /** Wallet addresses (lower-case) tied to the account; sharing one makes two accounts one operator. */
  links: readonly string[];
  /** The connection's network prefix, when known (see networkPrefix). */
  net?: string;
}

/** How hard the network prefix separates a quorum: `off`, `prefer` (when enough providers), `require`. */
export type NetPolicy = "off" | "prefer" | "require";
export const NET_POLICIES = ["off", "prefer", "require"] as const;

/** Whether two identities are one operator (same account, or accounts sharing a link). */
export function sameOperator(a: Identity, b: Identity): boolean {
  if (a.account === b.account) return true;
  if (a.links.length === 0 || b.links.length === 0) return false;
  return a.links.some((l) => b.links.includes(l));
}

const sameNet = (a: Identity, b: Identity): boolean => a.net !== undefined && a.net === b.net;

/**
 * Up to `n` candidates, in the given order, that are of another operator than every identity in
 * `taken` and than each other. With `prefer`, candidates on other network prefixes are taken
 * first and the rest fill what is left; with `require`, only they are taken.
 */
export function pickDistinct<T>(candidates: readonly T[], idOf: (c: T) => Identity, taken: readonly Identity[], n: number, net: NetPolicy = "prefer"): T[] {
  if (n <= 0) return [];
  const chosen: T[] = [];
  const used: Identity[] = [...taken];
  const pass = (strictNet: boolean): void => {
    for (const c of candidates) {
      if (chosen.length >= n) return;
      if (chosen.includes(c)) continue;
      const id = idOf(c);
      if (used.some((u) => sameOperator(u, id))) continue;
      if (strictNet && used.some((u) => sameNet(u, id))) continue;
      chosen.push(c);
      used.push(id);
    }
  };
  pass(net !== "off");
  if (net === "prefer") pass(false);
  // Keep the candidates' order (the scheduler's ranking) among those chosen.
  return candidates.filter((c) => chosen.includes(c));
}

/**
 * Whether a verdict may move the provider's reputation and trust upwards: never for work on a task
 * its own operator submitted, nor when it agreed only with providers of its own operator.
 */
export function earnsCredit(provider: Identity, requester: Identity | undefined, agreedWith: readonly Identity[]): boolean {
  if (requester && sameOperator(provider, requester)) return false;
  return !agreedWith.some((o) => sameOperator(provider, o));
}

/** The network prefix of an address: the /24 of an IPv4 address, the /48 of an IPv6 one. */
export function networkPrefix(address: string): string | undefined {
  let a = address.trim();
  if (a.startsWith("::ffff:") && a.includes(".")) a = a.slice(7);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (!a.includes(":")) return undefined;
  const [head = "", tail = ""] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = a.includes("::") ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t] : h;
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return `${groups
    .slice(0, 3)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/48`;
}
