/**
 * Works around a packaging quirk: pglite-prisma-adapter recognises database errors with
 * `instanceof DatabaseError` from the @electric-sql/pglite copy *it* resolves (0.4.x, hoisted at the
 * repository root by @prisma/dev), while the server runs PGlite 0.5.x. Errors from our instance
 * therefore reach Prisma unconverted: a unique violation surfaces with code "23505" instead of
 * Prisma's P2002. This wrapper converts such errors into DriverAdapterError the same way the adapter
 * would. It is a no-op once both resolve to one PGlite (e.g. an npm `overrides` entry).
 */
import { DriverAdapterError, type SqlDriverAdapterFactory, type SqlDriverAdapter } from "@prisma/driver-adapter-utils";

type Payload = ConstructorParameters<typeof DriverAdapterError>[0];

interface PgError {
  code: string;
  message: string;
  severity: string;
  detail?: string;
  column?: string;
  constraint?: string;
  hint?: string;
}

function isPgError(e: unknown): e is PgError {
  const o = e as Partial<PgError> | null;
  return typeof o === "object" && o !== null && typeof o.code === "string" && typeof o.severity === "string" && typeof o.message === "string";
}

function keyFields(e: PgError): string[] | undefined {
  return e.detail?.match(/Key \(([^)]+)\)/)?.[1]?.split(", ");
}

function mapError(e: PgError): Payload {
  const base = { originalCode: e.code, originalMessage: e.message };
  const fields = keyFields(e);
  switch (e.code) {
    case "22001":
      return { ...base, kind: "LengthMismatch", column: e.column } as Payload;
    case "22003":
      return { ...base, kind: "ValueOutOfRange", cause: e.message } as Payload;
    case "22P02":
      return { ...base, kind: "InvalidInputValue", message: e.message } as Payload;
    case "23505":
      return { ...base, kind: "UniqueConstraintViolation", constraint: fields ? { fields } : undefined } as Payload;
    case "23502":
      return { ...base, kind: "NullConstraintViolation", constraint: fields ? { fields } : undefined } as Payload;
    case "23503":
      return {
        ...base,
        kind: "ForeignKeyConstraintViolation",
        constraint: e.column ? { fields: [e.column] } : e.constraint ? { index: e.constraint } : undefined,
      } as Payload;
    case "40001":
      return { ...base, kind: "TransactionWriteConflict" } as Payload;
    default:
      return {
        ...base,
        kind: "postgres",
        code: e.code,
        severity: e.severity,
        message: e.message,
        detail: e.detail,
        column: e.column,
        hint: e.hint,
      } as Payload;
  }
}

function convert(e: unknown): unknown {
  if (e instanceof Error && e.name === "DriverAdapterError") return e;
  return isPgError(e) ? new DriverAdapterError(mapError(e)) : e;
}

const CONVERTED = new Set<PropertyKey>(["queryRaw", "executeRaw", "executeScript"]);

function wrap<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (typeof v !== "function") return v;
      const fn = v as (...args: unknown[]) => Promise<unknown>;
      if (CONVERTED.has(prop)) {
        return async (...args: unknown[]) => {
          try {
            return await fn.apply(t, args);
          } catch (e) {
            throw convert(e);
          }
        };
      }
      if (prop === "startTransaction") {
        return async (...args: unknown[]) => wrap((await fn.apply(t, args)) as object);
      }
      return fn.bind(t);
    },
  });
}

/** Wraps a driver adapter factory so every adapter and transaction it yields converts errors. */
export function withPgErrorMapping<F extends SqlDriverAdapterFactory>(factory: F): F {
  return new Proxy(factory, {
    get(t, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      if (prop === "connect" || prop === "connectToShadowDb") {
        return async () => wrap((await (v as () => Promise<SqlDriverAdapter>).call(t)) as SqlDriverAdapter);
      }
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}
