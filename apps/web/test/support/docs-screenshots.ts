import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The README's screenshots (its tour). */
export const DOCS_SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../docs/screenshots");

/**
 * Copies a test's screenshot to docs/screenshots/`name`.png when that file is missing or
 * STUN_UPDATE_SCREENSHOTS=1: the README's copies change only when asked, so test runs leave git clean.
 */
export function publishScreenshot(file: string, name: string): void {
  const target = path.join(DOCS_SCREENSHOTS, `${name}.png`);
  if (process.env.STUN_UPDATE_SCREENSHOTS !== "1" && existsSync(target)) return;
  mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
  copyFileSync(file, target);
}
