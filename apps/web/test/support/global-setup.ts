import { buildWeb } from "../../scripts/build";

/** Vitest global setup of the `web` project: one `next build` per run, only when out/ is stale. */
export default async function setup(): Promise<void> {
  const r = await buildWeb({ log: (line) => console.log(line) });
  if (r.built) console.log(`web app built in ${(r.ms / 1000).toFixed(1)} s (${r.reason})`);
}
