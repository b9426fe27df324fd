/**
 * IB's pacing limits (docs/ib/pacing.md, §8): a global 10 requests per second
 * (sliding one-second window), per-endpoint windows and the 5-concurrent limit of
 * /iserver/marketdata/history. Only accepted requests count toward the windows.
 */

export interface WindowRule {
  name: string;
  methods?: readonly string[];
  match: (path: string) => boolean;
  limit: number;
  windowMs: number;
}

export interface ConcurrencyRule {
  name: string;
  methods?: readonly string[];
  match: (path: string) => boolean;
  max: number;
}

const exact = (p: string) => (path: string) => path === p;

export const GLOBAL_LIMIT = { limit: 10, windowMs: 1000 };

export const WINDOW_RULES: WindowRule[] = [
  { name: 'orders', methods: ['GET'], match: exact('/iserver/account/orders'), limit: 1, windowMs: 5000 },
  { name: 'pnl', methods: ['GET'], match: exact('/iserver/account/pnl/partitioned'), limit: 1, windowMs: 5000 },
  { name: 'trades', methods: ['GET'], match: exact('/iserver/account/trades'), limit: 1, windowMs: 5000 },
  { name: 'snapshot', methods: ['GET'], match: exact('/iserver/marketdata/snapshot'), limit: 10, windowMs: 1000 },
  { name: 'scanner-params', methods: ['GET'], match: exact('/iserver/scanner/params'), limit: 1, windowMs: 900_000 },
  { name: 'scanner-run', methods: ['POST'], match: exact('/iserver/scanner/run'), limit: 1, windowMs: 1000 },
  { name: 'pa-performance', methods: ['POST'], match: exact('/pa/performance'), limit: 1, windowMs: 900_000 },
  { name: 'pa-summary', methods: ['POST'], match: exact('/pa/summary'), limit: 1, windowMs: 900_000 },
  { name: 'pa-transactions', methods: ['POST'], match: exact('/pa/transactions'), limit: 1, windowMs: 900_000 },
  { name: 'portfolio-accounts', methods: ['GET'], match: exact('/portfolio/accounts'), limit: 1, windowMs: 5000 },
  { name: 'portfolio-subaccounts', methods: ['GET'], match: exact('/portfolio/subaccounts'), limit: 1, windowMs: 5000 },
  { name: 'sso-validate', methods: ['GET'], match: exact('/sso/validate'), limit: 1, windowMs: 60_000 },
  // The table lists GET; clients also POST /tickle, and both share one budget.
  { name: 'tickle', match: exact('/tickle'), limit: 1, windowMs: 1000 },
  { name: 'fyi', match: (p) => p.startsWith('/fyi/'), limit: 1, windowMs: 1000 },
];

export const CONCURRENCY_RULES: ConcurrencyRule[] = [
  { name: 'history', methods: ['GET'], match: exact('/iserver/marketdata/history'), max: 5 },
];

export type PacingDecision = { ok: true; release: () => void } | { ok: false; rule: string };

export class Pacer {
  private global: number[] = [];
  private readonly windows = new Map<string, number[]>();
  private readonly inflight = new Map<string, number>();

  constructor(
    private readonly rules: WindowRule[] = WINDOW_RULES,
    private readonly concurrency: ConcurrencyRule[] = CONCURRENCY_RULES,
  ) {}

  check(method: string, path: string, now: number): PacingDecision {
    this.global = this.global.filter((t) => now - t < GLOBAL_LIMIT.windowMs);
    if (this.global.length >= GLOBAL_LIMIT.limit) return { ok: false, rule: 'global' };
    const applies = (r: { methods?: readonly string[]; match: (p: string) => boolean }) =>
      (!r.methods || r.methods.includes(method)) && r.match(path);
    const hitWindows: number[][] = [];
    for (const r of this.rules) {
      if (!applies(r)) continue;
      const w = (this.windows.get(r.name) ?? []).filter((t) => now - t < r.windowMs);
      this.windows.set(r.name, w);
      if (w.length >= r.limit) return { ok: false, rule: r.name };
      hitWindows.push(w);
    }
    const held: string[] = [];
    for (const r of this.concurrency) {
      if (!applies(r)) continue;
      if ((this.inflight.get(r.name) ?? 0) >= r.max) return { ok: false, rule: r.name };
      held.push(r.name);
    }
    this.global.push(now);
    for (const w of hitWindows) w.push(now);
    for (const name of held) this.inflight.set(name, (this.inflight.get(name) ?? 0) + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        for (const name of held) this.inflight.set(name, Math.max(0, (this.inflight.get(name) ?? 1) - 1));
      },
    };
  }

  /** Forgets all windows (in-flight counts stay, they are released by their requests). */
  reset(): void {
    this.global = [];
    this.windows.clear();
  }
}
