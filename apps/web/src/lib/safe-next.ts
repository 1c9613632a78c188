/** Where /signin goes when `next` is missing or not a page of this site. */
export const DEFAULT_NEXT = "/models";

/**
 * The sign-in page's `next` parameter as a same-origin path (pathname + search + hash), or
 * DEFAULT_NEXT. Parsed as a URL against this origin, as the browser will: `//evil.example`,
 * `/\evil.example` (browsers read `\` as `/`), `https://evil.example` or `javascript:…` name
 * another origin and are refused — a prefix check on the string misses some of them.
 */
export function safeNext(next: string | null, origin: string): string {
  if (!next) return DEFAULT_NEXT;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return DEFAULT_NEXT;
  }
  return url.origin === origin ? `${url.pathname}${url.search}${url.hash}` : DEFAULT_NEXT;
}
