import { z } from "zod";

/**
 * API keys (docs/CONCEPTS.md "API keys: scopes, expiry, revocation"): every key belongs to one account and carries scopes.
 *
 * - `admin`: everything the account may do, key management and wallet linking included
 *   (the key made with the account, and Sign-In with Ethereum sessions).
 * - `requester`: submit tasks, upload models (and read).
 * - `provider`: connect to the provider namespace, stake and unstake (and read).
 * - `read`: GET/query procedures only.
 *
 * Every key can read. A key without the scope a call needs gets 403 `KEY_SCOPE`; a revoked or
 * expired key gets 401 `KEY_REVOKED` / `KEY_EXPIRED`.
 */
export const KEY_SCOPES = ["admin", "requester", "provider", "read"] as const;
export const KeyScopeSchema = z.enum(KEY_SCOPES);
export type KeyScope = z.infer<typeof KeyScopeSchema>;

/** How a key was made: with the account, by keys.create/rotate, or by a wallet sign-in (session). */
export const KeyKindSchema = z.enum(["account", "api", "siwe"]);
export type KeyKind = z.infer<typeof KeyKindSchema>;

export const KeyStatusSchema = z.enum(["active", "revoked", "expired"]);
export type KeyStatus = z.infer<typeof KeyStatusSchema>;

export const KeyNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N} ._:@/-]+$/u, "letters, digits, space and . _ : @ / - only");

/** Longest lifetime a key may be given (10 years). */
export const MAX_KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;
/** Longest grace period of a rotated key (1 day). */
export const MAX_ROTATE_GRACE_SECONDS = 24 * 3600;

/** A key as its owner sees it: never the secret or its hash. */
export const ApiKeyViewSchema = z.object({
  id: z.string(),
  /** The key's first characters ("stun_" + 7), to recognise it. */
  prefix: z.string(),
  name: z.string(),
  scopes: z.array(KeyScopeSchema),
  kind: KeyKindSchema,
  status: KeyStatusSchema,
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** Coarse (to a few minutes). */
  lastUsedAt: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

export const CreateKeyRequestSchema = z.object({
  name: KeyNameSchema,
  /** At most the calling key's scopes (admin includes all). */
  scopes: z.array(KeyScopeSchema).min(1).max(KEY_SCOPES.length),
  /** Omitted: never expires. */
  expiresInSeconds: z.coerce.number().int().min(60).max(MAX_KEY_LIFETIME_SECONDS).optional(),
});
export type CreateKeyRequest = z.infer<typeof CreateKeyRequestSchema>;

/** A key just made: its secret, shown this once. */
export const CreatedKeySchema = z.object({ apiKey: z.string(), key: ApiKeyViewSchema });
export type CreatedKey = z.infer<typeof CreatedKeySchema>;

export const ListKeysQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
export const ListKeysResponseSchema = z.object({ keys: z.array(ApiKeyViewSchema) });
export type ListKeysResponse = z.infer<typeof ListKeysResponseSchema>;

export const KeyIdRequestSchema = z.object({ id: z.string().min(1).max(64) });

export const RotateKeyRequestSchema = KeyIdRequestSchema.extend({
  /** The old key keeps working this long (then KEY_EXPIRED); 0 or omitted: revoked at once. */
  graceSeconds: z.coerce.number().int().min(0).max(MAX_ROTATE_GRACE_SECONDS).default(0),
});
export type RotateKeyRequest = z.infer<typeof RotateKeyRequestSchema>;

export const KeyViewResponseSchema = z.object({ key: ApiKeyViewSchema });
