/// <reference types="next" />
/// <reference types="next/image-types/global" />

// Committed stand-in for Next's generated next-env.d.ts (gitignored: it points into .next/), so
// `tsc` works in a fresh checkout before any `next build`.
declare module "*.css";
