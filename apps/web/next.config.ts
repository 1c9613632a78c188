import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

const here = path.dirname(fileURLToPath(import.meta.url));

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
  // @stun/shared and @stun/provider-core are TypeScript source (their packages export src/index.ts).
  transpilePackages: ["@stun/shared", "@stun/provider-core"],
  images: { unoptimized: true },
  // Type checking is `npm run typecheck` (tsc 7, which Next's in-build checker cannot drive).
  typescript: { ignoreBuildErrors: true },
  turbopack: { root: path.resolve(here, "../..") },
};

export default config;
