/**
 * The kill switch: a file `HALT` in the state directory. While it exists no order is placed
 * or modified (cancels still work). It is a file so that it survives restarts, can be set by
 * `ibkr-mcp halt` from another terminal while a server runs, and is checked on every order.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerError } from '../broker/errors.js';

export const HALT_FILE = 'HALT';

export function haltPath(home: string): string {
  return join(home, HALT_FILE);
}

export interface HaltState {
  halted: boolean;
  reason?: string;
  since?: string;
}

export function haltState(home: string): HaltState {
  const p = haltPath(home);
  if (!existsSync(p)) return { halted: false };
  try {
    const data = JSON.parse(readFileSync(p, 'utf8')) as { reason?: unknown; since?: unknown };
    const out: HaltState = { halted: true };
    if (typeof data.reason === 'string') out.reason = data.reason.slice(0, 200);
    if (typeof data.since === 'string') out.since = data.since;
    return out;
  } catch {
    // Any file named HALT halts, whatever it contains (e.g. `touch ~/.ibkr-mcp/HALT`).
    return { halted: true };
  }
}

export function halt(home: string, reason = 'halted by the user', now = new Date()): void {
  writeFileSync(haltPath(home), `${JSON.stringify({ reason, since: now.toISOString() })}\n`, { mode: 0o600 });
}

/** Returns true when a halt was lifted. */
export function resume(home: string): boolean {
  const p = haltPath(home);
  if (!existsSync(p)) return false;
  rmSync(p, { force: true });
  return true;
}

/** Throws REFUSED while halted. `what` names the refused action ("placing", "modifying"). */
export function assertNotHalted(home: string, what: string): void {
  const s = haltState(home);
  if (!s.halted) return;
  throw new BrokerError(
    'REFUSED',
    `Trading is halted (kill switch${s.since ? ` since ${s.since}` : ''}${s.reason ? `: ${s.reason}` : ''}); ${what} orders is refused and nothing was sent.`,
    {
      hint: `Cancelling orders still works. The user lifts the halt with \`ibkr-mcp resume\` (or by deleting ${haltPath(home)}).`,
      details: { killSwitch: true },
    },
  );
}
