/**
 * Who the simulated providers are: their kind (behaviour), their group (colluding accounts and
 * Sybil swarms act together) and their operator identity (account, wallet links, network prefix),
 * which the QA code sees through qa/quorum.ts exactly as the server does.
 *
 * - honest: each its own account and wallet; most on their own /24, some in a few shared cloud /24s.
 * - always-wrong, sometimes-wrong, lazy: like honest providers (their own accounts and networks, so
 *   some share a cloud /24 with honest ones).
 * - colluder: rings of `ringSize` providers on different accounts and networks, not linked — to the
 *   server, strangers.
 * - sybil: swarms of `swarmSize` providers run by one operator on different accounts, on `sybilNets`
 *   /24s (1: all on one), the first `sybilLinked` of them sharing one wallet link.
 */
import type { Identity } from "../../apps/server/src/qa/quorum";
import type { Rng } from "./model";

export const KINDS = ["honest", "always-wrong", "sometimes-wrong", "lazy", "colluder", "sybil"] as const;
export type Kind = (typeof KINDS)[number];
/** Kinds that act together in groups. */
export const GROUP_KINDS = ["colluder", "sybil"] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];
export const isGroupKind = (k: Kind): k is GroupKind => (GROUP_KINDS as readonly string[]).includes(k);

export type Mix = Record<Kind, number>;

export interface Shape {
  ringSize: number;
  swarmSize: number;
  /** Swarm members sharing one wallet link (the rest have their own wallets). */
  sybilLinked: number;
  /** /24s a swarm spreads over (round-robin). */
  sybilNets: number;
}

/** Share of providers (all but Sybil swarms) in a shared cloud /24 (one of CLOUD_NETS); the rest each on their own. */
const CLOUD_SHARE = 0.2;
const CLOUD_NETS = 4;

/**
 * Dishonest counts per kind for a dishonest share: about half in Sybil swarms (one swarm of
 * `swarmSize` from 20 dishonest providers on), a fifth in colluding rings, the rest split evenly
 * among always-wrong, sometimes-wrong and lazy.
 */
export function populationFor(providers: number, dishonest: number, shape: Shape): Mix {
  const d = Math.round(providers * dishonest);
  const sybil = d < 4 ? 0 : Math.min(Math.floor(d / 2), shape.swarmSize * Math.max(1, Math.floor(d / (2 * shape.swarmSize))));
  const colluder = d - sybil < 2 ? 0 : Math.max(2, Math.round(d / 5));
  const rest = d - sybil - colluder;
  const third = Math.floor(rest / 3);
  const extra = rest - 3 * third;
  return {
    honest: providers - d,
    "always-wrong": third + (extra > 0 ? 1 : 0),
    "sometimes-wrong": third + (extra > 1 ? 1 : 0),
    lazy: third,
    colluder,
    sybil,
  };
}

/** `--mix sybil=10,colluder=4`: explicit dishonest counts; the rest of the providers are honest. */
export function parseMix(spec: string, providers: number): Mix {
  const mix: Mix = { honest: 0, "always-wrong": 0, "sometimes-wrong": 0, lazy: 0, colluder: 0, sybil: 0 };
  for (const part of spec.split(",").filter((x) => x !== "")) {
    const [k, v] = part.split("=");
    if (!k || !(KINDS as readonly string[]).includes(k) || k === "honest") throw new Error(`--mix: unknown kind ${k} (${KINDS.slice(1).join(", ")})`);
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--mix: ${k} needs a count, got ${v}`);
    mix[k as Kind] = n;
  }
  mix.honest = providers - KINDS.reduce((s, k) => s + mix[k], 0);
  if (mix.honest < 2) throw new Error("--mix leaves fewer than 2 honest providers");
  return mix;
}

export const dishonestCount = (m: Mix): number => KINDS.reduce((s, k) => s + (k === "honest" ? 0 : m[k]), 0);

/** Splits `n` members into groups of `size` (a remainder of 1 joins the last group). */
export function groupSizes(n: number, size: number): number[] {
  if (n <= 0) return [];
  const s = Math.max(2, size);
  const sizes = Array.from({ length: Math.floor(n / s) }, () => s);
  const rest = n - sizes.length * s;
  if (rest >= 2 || sizes.length === 0) sizes.push(rest);
  else if (rest === 1) sizes[sizes.length - 1]! += 1;
  return sizes;
}

/** A provider's place in the population: what it does, whom it acts with, which member it is. */
export interface Seat {
  kind: Kind;
  /** Index of its ring or swarm (unique across both); undefined for lone providers. */
  group?: number;
  /** Its index within the group (decides a swarm member's network and wallet link). */
  member: number;
}

/** The seats of a population, shuffled so that seat order (the scheduler's tie order) says nothing about kind. */
export function seatsFor(mix: Mix, shape: Shape, rng: Rng): Seat[] {
  const seats: Seat[] = [];
  let group = 0;
  for (const k of KINDS) {
    if (isGroupKind(k)) {
      for (const size of groupSizes(mix[k], k === "colluder" ? shape.ringSize : shape.swarmSize)) {
        for (let m = 0; m < size; m++) seats.push({ kind: k, group, member: m });
        group++;
      }
    } else for (let i = 0; i < mix[k]; i++) seats.push({ kind: k, member: 0 });
  }
  for (let i = seats.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [seats[i], seats[j]] = [seats[j]!, seats[i]!];
  }
  return seats;
}

/**
 * Operator identities for seats. Every call gives a fresh account (a provider that re-joins after
 * being slashed out comes back under a new account); a swarm member keeps its swarm's networks
 * and, if it is one of the linked members, the swarm's wallet.
 */
export function identities(shape: Shape, rng: Rng): (seat: Seat) => Identity {
  let accounts = 0;
  let nets = 0;
  const ownNet = () => `10.${(++nets >> 8) & 255}.${nets & 255}.0/24`;
  const cloud = (i: number) => `172.16.${i}.0/24`;
  return (seat) => {
    const account = `acc-${++accounts}`;
    const ownWallet = `0xw${accounts}`;
    if (seat.kind === "sybil") {
      const g = seat.group!;
      const net = `192.${g & 255}.${(seat.member % Math.max(1, shape.sybilNets)) & 255}.0/24`;
      return { account, links: [seat.member < shape.sybilLinked ? `0xsybil${g}` : ownWallet], net };
    }
    if (rng() < CLOUD_SHARE) return { account, links: [ownWallet], net: cloud(Math.floor(rng() * CLOUD_NETS)) };
    return { account, links: [ownWallet], net: ownNet() };
  };
}
