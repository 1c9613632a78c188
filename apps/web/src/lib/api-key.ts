"use client";
import { useSyncExternalStore } from "react";

/**
 * The signed-in requester's API key, kept in localStorage (this browser only) and sent as
 * `Authorization: Bearer` on every API call. Components read it with {@link useApiKey}.
 */
const STORAGE_KEY = "stun.apiKey";
const listeners = new Set<() => void>();

export function getApiKey(): string | null {
  if (typeof window === "undefined") return null;
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function setApiKey(key: string | null): void {
  try {
    if (key) window.localStorage.setItem(STORAGE_KEY, key);
    else window.localStorage.removeItem(STORAGE_KEY);
  } finally {
    for (const l of listeners) l();
  }
}

function subscribe(onChange: () => void): () => void {
  listeners.add(onChange);
  const onStorage = (e: StorageEvent) => {
    if (e.key === STORAGE_KEY) onChange();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(onChange);
    window.removeEventListener("storage", onStorage);
  };
}

/** The API key: `undefined` while hydrating (unknown yet), `null` when signed out. */
export function useApiKey(): string | null | undefined {
  return useSyncExternalStore<string | null | undefined>(subscribe, getApiKey, () => undefined);
}

/** `stun_abcd…wxyz`: enough to recognise a key without showing it. */
export const maskKey = (key: string): string => (key.length > 14 ? `${key.slice(0, 9)}…${key.slice(-4)}` : "••••");
