import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { TaskUpdateMessage } from "@stun/shared";

/** The checked-in proto (docs/stun.proto), as a third-party client would load it. */
export const STUN_PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../docs/stun.proto");

export interface GrpcError {
  code: grpc.status;
  details: string;
  /** The trailing `stun-code`. */
  stunCode: string | undefined;
}

/** A @grpc/grpc-js client of every service in docs/stun.proto on 127.0.0.1:`port`. */
export function grpcClient(port: number) {
  const def = protoLoader.loadSync(STUN_PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: false });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { stun: { v1: Record<string, grpc.ServiceClientConstructor> } };
  const clients = new Map<string, grpc.Client>();
  const client = (service: string) => {
    let c = clients.get(service);
    if (!c) {
      const Ctor = pkg.stun.v1[service];
      if (!Ctor) throw new Error(`no service ${service}`);
      c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      clients.set(service, c);
    }
    return c as unknown as Record<string, (...args: unknown[]) => unknown>;
  };
  const metadataFor = (key?: string) => {
    const m = new grpc.Metadata();
    if (key) m.set("authorization", `Bearer ${key}`);
    return m;
  };
  return {
    /** `Service.Rpc(request)`; rejects with a GrpcError. */
    call<T = any>(service: string, rpc: string, request: object, key?: string): Promise<T> {
      return new Promise((resolve, reject) => {
        const fn = client(service)[rpc];
        if (!fn) return reject(new Error(`no rpc ${service}.${rpc}`));
        fn.call(client(service), request, metadataFor(key), (err: grpc.ServiceError | null, res: T) => (err ? reject(toGrpcError(err)) : resolve(res)));
      });
    },
    /** `Service.Rpc(request)` as a call its client may cancel: `done` settles with its answer, or its error once cancelled. */
    start(service: string, rpc: string, request: object, key?: string): { done: Promise<unknown>; cancel(): void } {
      let call: grpc.ClientUnaryCall | undefined;
      const done = new Promise((resolve, reject) => {
        call = client(service)[rpc]!.call(client(service), request, metadataFor(key), (err: grpc.ServiceError | null, res: unknown) =>
          err ? reject(toGrpcError(err)) : resolve(res),
        ) as grpc.ClientUnaryCall;
      });
      return { done, cancel: () => call?.cancel() };
    },
    /** `Tasks.WatchTask(request)`: a readable stream of TaskUpdate messages. */
    watch(request: { taskId?: string }, key?: string): grpc.ClientReadableStream<TaskUpdateMessage> {
      return client("Tasks").WatchTask!.call(client("Tasks"), request, metadataFor(key)) as grpc.ClientReadableStream<TaskUpdateMessage>;
    },
    close() {
      for (const c of clients.values()) c.close();
    },
  };
}

export function toGrpcError(err: grpc.ServiceError): GrpcError {
  const code = err.metadata?.get("stun-code")[0];
  return { code: err.code, details: err.details, stunCode: code === undefined ? undefined : String(code) };
}
