import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";

/** Which proxy hops to believe about the client's address (fastify's trustProxy, as a function). */
export type TrustProxy = (addr: string, hop: number) => boolean;

/**
 * Parses TRUST_PROXY: `true` (every hop), a hop count, or comma-separated proxy addresses/CIDRs
 * (`loopback`, `10.0.0.0/8`, …). Unset, `false` or `0`: trust nobody, the TCP peer is the client.
 */
export function parseTrustProxy(setting: string | undefined): TrustProxy | undefined {
  if (setting === undefined || setting === "false" || setting === "0") return undefined;
  if (setting === "true") return () => true;
  if (/^\d+$/.test(setting)) {
    const hops = Number(setting);
    return (_addr, hop) => hop < hops;
  }
  return proxyAddr.compile(
    setting
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/**
 * The client's address of a raw HTTP request (a socket.io handshake), by the same rule fastify
 * applies to `request.ip`, so one client has one address on every surface.
 */
export function clientIp(req: IncomingMessage, trust: TrustProxy | undefined): string {
  if (!trust) return req.socket.remoteAddress ?? "unknown";
  return proxyAddr(req, trust);
}
