/**
 * A provider written from docs/PROTOCOL.md alone, as an outsider would: socket.io, register with
 * whatever it likes to claim (slots, benchmark), answer every assignment with outputs of its own
 * making — no onnxruntime, no agent code. For QA tests of cheaters and Sybils.
 */
import { io as connect, type Socket } from "socket.io-client";
import { PROTOCOL_VERSION, PROVIDER_EVENTS, PROVIDER_NAMESPACE, type Assign, type WireTensorMap } from "@stun/shared";

export interface ScriptedProviderOptions {
  url: string;
  apiKey: string;
  name: string;
  price?: string;
  slots?: number;
  /** The benchmark it claims (inferences per second): a cheater claims a fast one to be picked first. */
  benchmarkIps?: number;
  /** What it answers to an assignment's inputs. */
  answer: (inputs: WireTensorMap) => WireTensorMap;
  /** How long it pretends to work, in ms. */
  delayMs?: number;
  /** Awaited before it answers an assignment of this task (after `delayMs`): a test holds its slot so. */
  holdUntil?: (taskId: string) => Promise<void> | undefined;
}

export interface ScriptedProvider {
  providerId: string;
  /** Assignments it received (task ids). */
  assigned: string[];
  /** Its connection, for events beyond the script (e.g. provider:price). */
  socket: Socket;
  close(): void;
}

export async function startScriptedProvider(o: ScriptedProviderOptions): Promise<ScriptedProvider> {
  const socket: Socket = connect(`${o.url}${PROVIDER_NAMESPACE}`, {
    auth: { apiKey: o.apiKey, protocolVersion: PROTOCOL_VERSION },
    transports: ["websocket"],
    reconnection: false,
  });
  const assigned: string[] = [];
  socket.on(PROVIDER_EVENTS.assign, (a: Assign, ack: (r: unknown) => void) => {
    assigned.push(a.taskId);
    ack({ ok: true });
    setTimeout(async () => {
      await o.holdUntil?.(a.taskId);
      const outputs = o.answer(a.inputs);
      socket.emit(PROVIDER_EVENTS.result, { assignmentId: a.assignmentId, outputs, timings: { fetchMs: 0, loadMs: 0, runMs: o.delayMs ?? 0 } }, () => undefined);
    }, o.delayMs ?? 0);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  const ack = await socket.timeout(20_000).emitWithAck(PROVIDER_EVENTS.register, {
    name: o.name,
    kind: "native",
    backend: "cpu",
    price: o.price ?? "1",
    slots: o.slots ?? 1,
    specs: { cores: 64, memoryMb: 262_144, ...(o.benchmarkIps !== undefined ? { benchmarkIps: o.benchmarkIps } : {}) },
  });
  if (!ack.ok) {
    socket.disconnect();
    throw new Error(`register refused: ${ack.error.code} ${ack.error.message}`);
  }
  return { providerId: ack.providerId, assigned, socket, close: () => socket.disconnect() };
}

/** The float32 tensor `name` of a wire map, as numbers. */
export function float32sOf(t: WireTensorMap[string]): Float32Array {
  // A copy: socket.io hands over Buffers that are views into a shared pool.
  const bytes = t.data instanceof Uint8Array ? new Uint8Array(t.data) : new Uint8Array(t.data as unknown as ArrayBuffer);
  return new Float32Array(bytes.buffer);
}

/** A float32 wire tensor. */
export const float32Tensor = (dims: number[], values: Float32Array): WireTensorMap[string] => ({
  dtype: "float32",
  dims,
  data: new Uint8Array(values.buffer.slice(0)),
});
