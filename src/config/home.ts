/** The state directory (--home): journal, kill switch, HTTP token, gateway cache. */
import { chmodSync, mkdirSync } from 'node:fs';

/** Creates the state directory owner-only (0700). */
export function ensureHome(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dir, 0o700);
  } catch {
    // Not ours to fix (e.g. a read-only mount); the directory exists.
  }
}
