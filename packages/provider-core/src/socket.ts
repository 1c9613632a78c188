import { PROTOCOL_VERSION, PROVIDER_NAMESPACE } from "@stun/shared";
import { type Socket, io } from "socket.io-client";
import { serverList } from "./server-url";

/** What a ProviderSession uses of a socket.io client socket. */
export type ProviderSocket = Pick<Socket, "on" | "emit" | "timeout" | "connect" | "disconnect" | "removeAllListeners" | "connected" | "active">;

/**
 * The provider connection both agents open: `<server>/provider` over WebSocket with the API key
 * and protocol version in the handshake, reconnecting with backoff from `reconnectDelayMs` (default
 * 500 ms) up to 5 s. Not connected yet: ProviderSession.start() connects it once its handlers are on.
 */
export function openProviderSocket(server: string, apiKey: string, opts: { reconnectDelayMs?: number } = {}): Socket {
  return io(`${server.replace(/\/+$/, "")}${PROVIDER_NAMESPACE}`, {
    auth: { apiKey, protocolVersion: PROTOCOL_VERSION },
    transports: ["websocket"],
    autoConnect: false,
    reconnection: true,
    reconnectionDelay: opts.reconnectDelayMs ?? 500,
    reconnectionDelayMax: 5000,
  });
}

/** One socket per server of `servers` (comma-separated instances of one network: server-url.ts serverList). */
export function openProviderSockets(servers: string, apiKey: string, opts: { reconnectDelayMs?: number } = {}): Socket[] {
  return serverList(servers).map((server) => openProviderSocket(server, apiKey, opts));
}
