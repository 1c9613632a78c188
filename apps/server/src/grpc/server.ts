/**
 * The gRPC gateway (@grpc/grpc-js) on its own port (GRPC_PORT): every procedure of the table as
 * an rpc of its domain's service, and `Tasks.WatchTask` streaming task updates, all from the proto
 * emitted by proto.ts — the same text `npm run docs:proto` writes to docs/stun.proto. Auth is the
 * metadata `authorization: Bearer <key>`; errors are gRPC statuses with the stable code in the
 * trailing metadata `stun-code` (docs/GATEWAYS.md).
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { StunError } from "@stun/shared";
import type { AppContext } from "../context";
import { bearerToken, hashApiKey } from "../auth/api-keys";
import { authenticateKey } from "../auth/key-auth";
import { toStunError } from "../errors";
import { addressId, retryAfterOf } from "../limits/rate-limits";
import { callProcedure, procedureEntries, type GatewayCaller } from "../procedures/catalog";
import type { Procedure } from "../procedures/define";
import { fromWire, shapeOf, toWire } from "../procedures/shapes";
import { openUpdateStream } from "../procedures/watch";
import { emitProto, PROTO_PACKAGE, rpcName, serviceName, WATCH_RPC } from "./proto";

/** How requests and responses are decoded: field names as in the proto (REST's), 64-bit integers as numbers, absent fields as their defaults. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: false };

/** The package definition of the emitted proto. */
export function loadStunProto(): protoLoader.PackageDefinition {
  const root = protobuf.parse(emitProto(), { keepCase: true }).root;
  return protoLoader.fromJSON(root.toJSON(), PROTO_LOADER_OPTIONS);
}

const STATUS_BY_HTTP: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  402: grpc.status.FAILED_PRECONDITION,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  409: grpc.status.FAILED_PRECONDITION,
  410: grpc.status.NOT_FOUND,
  413: grpc.status.RESOURCE_EXHAUSTED,
  415: grpc.status.INVALID_ARGUMENT,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};
/** 409s that say "it is there already" rather than "not in this state". */
const ALREADY_EXISTS = new Set(["WALLET_IN_USE"]);

/** The gRPC status of a StunError. */
export function grpcStatusOf(err: StunError): grpc.status {
  if (ALREADY_EXISTS.has(err.code)) return grpc.status.ALREADY_EXISTS;
  return STATUS_BY_HTTP[err.status] ?? grpc.status.INTERNAL;
}

/** Anything thrown by a call → a gRPC error: its status, the message, `stun-code` (and `retry-after` for 429s) in the trailers. */
function toGrpcError(e: unknown, app: AppContext): Partial<grpc.StatusObject> {
  const err = toStunError(e);
  if (err.code === "INTERNAL") app.log.error({ err: e }, "grpc call failed");
  const metadata = new grpc.Metadata();
  metadata.set("stun-code", err.code);
  const retryAfter = retryAfterOf(err);
  if (retryAfter !== undefined) metadata.set("retry-after", String(retryAfter));
  return { code: grpcStatusOf(err), details: err.message, metadata };
}

/** The decoded request's size in bytes, or why it did not decode (set by the wrapped deserializer). */
const WIRE = Symbol("wire");
type Wire = { bytes: number; error?: string };

/** A method definition whose requests record their size and never fail to decode (a bad message is answered INVALID_ARGUMENT, not INTERNAL). */
function measured(def: grpc.MethodDefinition<object, object>): grpc.MethodDefinition<object, object> {
  return {
    ...def,
    requestDeserialize: (buf: Buffer) => {
      try {
        return Object.assign(def.requestDeserialize(buf), { [WIRE]: { bytes: buf.length } });
      } catch (e) {
        return { [WIRE]: { bytes: buf.length, error: (e as Error).message } };
      }
    },
  };
}

type SurfaceCall = grpc.ServerUnaryCall<object, object> | grpc.ServerWritableStream<object, object>;

function peerAddress(call: SurfaceCall): string {
  const peer = call.getPeer().replace(/^ipv[46]:/, "");
  const m = /^\[(.+)\]:\d+$/.exec(peer) ?? /^(.+):\d+$/.exec(peer);
  return addressId(m ? m[1]! : peer);
}

/** The caller of a call (rate limits counted as for an HTTP request): the key of `authorization: Bearer <key>`, or why it was refused. */
async function callerOf(app: AppContext, call: SurfaceCall): Promise<GatewayCaller> {
  const ip = peerAddress(call);
  await app.limits.hit("ip", ip);
  const header = call.metadata.get("authorization")[0];
  const token = bearerToken(typeof header === "string" ? header : header?.toString());
  if (!token) return { key: undefined, ip };
  await app.limits.hit("key", hashApiKey(token));
  try {
    return { key: await authenticateKey(app, token), ip };
  } catch (authError) {
    return { key: undefined, authError, ip };
  }
}

/** Aborted when the client cancels the call or goes, before or after this is asked (procedures/define.ts AuthedCall.signal). */
function cancelSignal(call: grpc.ServerUnaryCall<object, object>): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.once("cancelled", () => controller.abort());
  return controller.signal;
}

/** The decoded request, refused when it did not decode or is over the procedure's body limit. */
function requestOf(app: AppContext, request: object, tensors: boolean): object {
  const wire = (request as { [WIRE]?: Wire })[WIRE];
  if (wire?.error) throw new StunError("VALIDATION_FAILED", `the request message does not decode: ${wire.error}`);
  const limit = tensors ? app.config.BODY_LIMIT : app.config.JSON_BODY_LIMIT;
  if (wire && wire.bytes > limit) throw new StunError("PAYLOAD_TOO_LARGE", `the request message is larger than this call's limit of ${limit} bytes`, { limit });
  return request;
}

function unary(app: AppContext, p: Procedure): grpc.handleUnaryCall<object, object> {
  const inShape = shapeOf(p.input, "input");
  const outShape = shapeOf(p.output, "output");
  const wrap = (shape: typeof inShape) => shape.kind !== "object";
  return (call, callback) => {
    void (async () => {
      try {
        const caller = { ...(await callerOf(app, call)), signal: cancelSignal(call) };
        const request = requestOf(app, call.request, p.tensors === true);
        const decode = () => (wrap(inShape) ? fromWire({ kind: "json" }, (request as { json?: string }).json || "{}", { jsonText: true }) : fromWire(inShape, request, { jsonText: true }));
        const output = await callProcedure(app, p, caller, decode);
        callback(null, (wrap(outShape) ? { json: JSON.stringify(output) } : toWire(outShape, output, { jsonText: true })) as object);
      } catch (e) {
        callback(toGrpcError(e, app));
      }
    })();
  };
}

function watchTask(app: AppContext): grpc.handleServerStreamingCall<object, object> {
  const inShape = shapeOf(WATCH_RPC.request, "input");
  return (call) => {
    void (async () => {
      try {
        const caller = await callerOf(app, call);
        const stream = await openUpdateStream(app, caller, fromWire(inShape, requestOf(app, call.request, false), { jsonText: true }));
        call.on("cancelled", () => stream.close());
        if (call.cancelled) stream.close();
        for await (const update of stream.updates) call.write(update);
        call.end();
      } catch (e) {
        call.emit("error", toGrpcError(e, app));
      }
    })();
  };
}

export interface RunningGrpc {
  port: number;
  close(): Promise<void>;
}

/** Serves the gateway on HOST:port (0: any free port); plaintext, like the HTTP server behind its proxy. */
export async function startGrpcServer(app: AppContext, host: string, port: number): Promise<RunningGrpc> {
  const definition = loadStunProto();
  const server = new grpc.Server({ "grpc.max_receive_message_length": app.config.BODY_LIMIT, "grpc.max_send_message_length": -1 });
  const services = new Map<string, grpc.UntypedServiceImplementation>();
  const implement = (service: string, rpc: string, handler: grpc.UntypedHandleCall) => {
    const impl = services.get(service) ?? {};
    impl[rpc] = handler;
    services.set(service, impl);
  };
  for (const { domain, name, procedure } of procedureEntries()) implement(serviceName(domain), rpcName(name), unary(app, procedure));
  implement(WATCH_RPC.service, WATCH_RPC.rpc, watchTask(app));
  for (const [service, impl] of services) {
    const def = definition[`${PROTO_PACKAGE}.${service}`] as grpc.ServiceDefinition;
    server.addService(Object.fromEntries(Object.entries(def).map(([rpc, m]) => [rpc, measured(m as grpc.MethodDefinition<object, object>)])) as grpc.ServiceDefinition, impl);
  }
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open WatchTask streams would hold a graceful shutdown forever.
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}
