/**
 * Small hand-written charts (SVG and CSS, no chart library). Each has a text alternative: an
 * aria-label summary and, for the time series, a visually hidden table.
 */
import { cx } from "./ui";

export interface TimePoint {
  at: string;
  submitted: number;
  completed: number;
  failed: number;
}

const niceMax = (v: number): number => {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
};

const clock = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

/** Per-minute bars: completed stacked with failed, in front of a lighter bar of the tasks submitted. */
export function ThroughputChart({ points }: { points: TimePoint[] }) {
  const W = 720;
  const H = 200;
  const pad = { l: 36, r: 8, t: 10, b: 24 };
  const n = Math.max(points.length, 1);
  const max = niceMax(Math.max(1, ...points.map((p) => Math.max(p.submitted, p.completed + p.failed))));
  const bw = (W - pad.l - pad.r) / n;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const x = (i: number) => pad.l + i * bw;
  const total = points.reduce((s, p) => ({ s: s.s + p.submitted, c: s.c + p.completed, f: s.f + p.failed }), { s: 0, c: 0, f: 0 });
  const ticks = [0, max / 2, max];
  return (
    <figure>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        className="h-auto w-full"
        role="img"
        aria-label={`Tasks per minute over the last ${points.length} minutes: ${total.s} submitted, ${total.c} completed, ${total.f} failed or expired.`}
      >
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.l} x2={W - pad.r} y1={y(t)} y2={y(t)} className="stroke-slate-200" strokeDasharray={t === 0 ? undefined : "3 3"} />
            <text x={pad.l - 6} y={y(t) + 4} textAnchor="end" className="fill-slate-400 text-[10px]">
              {Number.isInteger(t) ? t : t.toFixed(1)}
            </text>
          </g>
        ))}
        {points.map((p, i) => {
          const gap = Math.min(2, bw * 0.2);
          return (
            <g key={p.at}>
              <title>{`${clock(p.at)} — ${p.submitted} submitted, ${p.completed} completed, ${p.failed} failed`}</title>
              {p.submitted > 0 ? <rect x={x(i) + gap / 2} width={bw - gap} y={y(p.submitted)} height={y(0) - y(p.submitted)} rx={1.5} className="fill-brand-100" /> : null}
              {p.completed > 0 ? <rect x={x(i) + gap / 2} width={bw - gap} y={y(p.completed)} height={y(0) - y(p.completed)} rx={1.5} className="fill-brand-500" /> : null}
              {p.failed > 0 ? <rect x={x(i) + gap / 2} width={bw - gap} y={y(p.completed + p.failed)} height={y(0) - y(p.failed)} rx={1.5} className="fill-red-400" /> : null}
            </g>
          );
        })}
        {points.length > 0
          ? [0, Math.floor(points.length / 2), points.length - 1].map((i) => (
              <text key={i} x={x(i) + bw / 2} y={H - 6} textAnchor={i === 0 ? "start" : i === points.length - 1 ? "end" : "middle"} className="fill-slate-400 text-[10px]">
                {clock(points[i]!.at)}
              </text>
            ))
          : null}
      </svg>
      <figcaption className="mt-2 flex flex-wrap gap-4 text-xs text-slate-600">
        <Legend className="bg-brand-500" label={`completed (${total.c})`} />
        <Legend className="bg-red-400" label={`failed / expired (${total.f})`} />
        <Legend className="bg-brand-100 ring-1 ring-inset ring-brand-200" label={`submitted (${total.s})`} />
      </figcaption>
      <table className="sr-only">
        <caption>Tasks per minute</caption>
        <thead>
          <tr>
            <th>minute</th>
            <th>submitted</th>
            <th>completed</th>
            <th>failed</th>
          </tr>
        </thead>
        <tbody>
          {points
            .filter((p) => p.submitted || p.completed || p.failed)
            .map((p) => (
              <tr key={p.at}>
                <td>{clock(p.at)}</td>
                <td>{p.submitted}</td>
                <td>{p.completed}</td>
                <td>{p.failed}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </figure>
  );
}

function Legend({ className, label }: { className: string; label: string }) {
  return (
    <span className="flex items-center gap-1.5">
      <span aria-hidden className={cx("size-2.5 rounded-sm", className)} />
      {label}
    </span>
  );
}

export interface BarItem {
  label: string;
  value: number;
  /** A Tailwind background class. */
  color?: string;
  hint?: string;
}

/** Horizontal bars, largest first (or in the given order). */
export function BarList({ items, label, empty = "No data yet", keepOrder }: { items: BarItem[]; label: string; empty?: string; keepOrder?: boolean }) {
  const sorted = keepOrder ? items : [...items].sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
  const max = Math.max(1, ...sorted.map((i) => i.value));
  if (sorted.length === 0) return <p className="text-sm text-slate-500">{empty}</p>;
  return (
    <ul className="space-y-2.5" aria-label={label}>
      {sorted.map((i) => (
        <li key={i.label}>
          <div className="mb-1 flex items-baseline justify-between gap-2 text-sm">
            <span className="truncate text-slate-700">{i.label}</span>
            <span className="tabular-nums font-medium text-slate-900">
              {i.value}
              {i.hint ? <span className="ml-1 text-xs font-normal text-slate-500">{i.hint}</span> : null}
            </span>
          </div>
          <div className="h-2 rounded-full bg-slate-100" aria-hidden>
            <div className={cx("h-2 rounded-full", i.color ?? "bg-brand-500")} style={{ width: `${(i.value / max) * 100}%` }} />
          </div>
        </li>
      ))}
    </ul>
  );
}

export interface Segment {
  label: string;
  value: number;
  /** An SVG stroke class, e.g. stroke-emerald-500, and its swatch background. */
  stroke: string;
  swatch: string;
}

/** A donut of segments with a legend; the total in the middle. */
export function Donut({ segments, label, center }: { segments: Segment[]; label: string; center?: string }) {
  const total = segments.reduce((s, x) => s + x.value, 0);
  const r = 15.915; // circumference 100
  let offset = 25;
  return (
    <div className="flex items-center gap-5">
      <svg viewBox="0 0 42 42" className="size-32 shrink-0" role="img" aria-label={`${label}: ${segments.map((s) => `${s.label} ${s.value}`).join(", ") || "none"}`}>
        <circle cx="21" cy="21" r={r} fill="none" className="stroke-slate-100" strokeWidth="5" />
        {total > 0
          ? segments
              .filter((s) => s.value > 0)
              .map((s) => {
                const pct = (s.value / total) * 100;
                const el = <circle key={s.label} cx="21" cy="21" r={r} fill="none" className={s.stroke} strokeWidth="5" strokeDasharray={`${pct} ${100 - pct}`} strokeDashoffset={offset} />;
                offset -= pct;
                return el;
              })
          : null}
        <text x="21" y="21" textAnchor="middle" dominantBaseline="central" className="fill-slate-900 text-[7px] font-semibold">
          {center ?? total}
        </text>
      </svg>
      <ul className="min-w-0 space-y-1 text-sm">
        {segments.map((s) => (
          <li key={s.label} className="flex items-center gap-2">
            <span aria-hidden className={cx("size-2.5 shrink-0 rounded-sm", s.swatch)} />
            <span className="truncate text-slate-700">{s.label}</span>
            <span className="ml-auto pl-2 tabular-nums font-medium text-slate-900">{s.value}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Latency percentiles as bars on one scale. */
export function Percentiles({ values, format }: { values: Array<[string, number | null]>; format: (v: number) => string }) {
  const max = Math.max(1, ...values.map(([, v]) => v ?? 0));
  return (
    <dl className="space-y-3">
      {values.map(([k, v]) => (
        <div key={k} className="grid grid-cols-[3rem_1fr_5rem] items-center gap-3 text-sm">
          <dt className="font-medium text-slate-600">{k}</dt>
          <dd className="h-3 rounded-full bg-slate-100" aria-hidden>
            {v !== null ? <div className="h-3 rounded-full bg-gradient-to-r from-brand-400 to-brand-600" style={{ width: `${Math.max(2, (v / max) * 100)}%` }} /> : null}
          </dd>
          <dd className="text-right tabular-nums font-medium text-slate-900">{v === null ? "–" : format(v)}</dd>
        </div>
      ))}
    </dl>
  );
}
