import { realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");

/**
 * Turbopack compiles nothing outside its root. That is the repository, unless its node_modules is a
 * link to another checkout's (a git worktree sharing one install): then the folder holding both.
 */
function turbopackRoot(): string {
  let nodeModules = repo;
  try {
    nodeModules = path.dirname(realpathSync(path.join(repo, "node_modules")));
  } catch {
    return repo;
  }
  let root = repo;
  while (path.relative(root, nodeModules).startsWith("..")) root = path.dirname(root);
  return root;
}

/**
 * A static export (`out/`): the Stun server serves these files on its own origin, next to /api/v1,
 * /trpc and socket.io (apps/server/src/http/web.ts). No SSR; every page fetches in the browser.
 */
const config: NextConfig = {
  output: "export",
  // /models → out/models.html (the server resolves clean URLs with an .html extension).
  trailingSlash: false,
  reactStrictMode: true,
  poweredByHeader: false,
  // @stun/shared, @stun/provider-core and @stun/tee are TypeScript source (their packages export src/index.ts).
  transpilePackages: ["@stun/shared", "@stun/provider-core", "@stun/tee"],
  images: { unoptimized: true },
  // Type checking is `npm run typecheck` (tsc 7, which Next's in-build checker cannot drive).
  typescript: { ignoreBuildErrors: true },
  turbopack: { root: turbopackRoot() },
};

export default config;
