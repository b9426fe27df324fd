/**
 * News headlines of the selected account's holdings, as IB's gateway serves them:
 *
 *   GET /iserver/news/portfolio   [{id, headline, source, provider, sentiment, receiptTime, tickers}]
 *
 * IB documents no news endpoint; the fields are those a public probe of a real gateway reported
 * (Build 10.46.1l, 2026-06-18: id, headline, source, provider, sentiment, receiptTime in epoch ms,
 * tickers; up to 50 headlines, several providers). The per-contract form and article texts are not
 * served (the probe found them answering 503 or 404): an unknown route answers 404 here.
 *
 * The headlines are made from the selected account's stock holdings (IB scopes the list to the
 * selected account, as it does P&L and orders), a few per holding, deterministic for the seed and
 * the day. Control (an extension, not IB's): POST /sim/news {"add":[{headline, tickers?,
 * provider?, sentiment?}], "clear":true} puts headlines of the test's own first, e.g. hostile text.
 */
import { hash32 } from '../rng.js';
import { json, type Router } from '../server.js';
import { extOf, type SimState } from '../state.js';

/** IB's list is at most 50 headlines (the probe's count). */
const MAX_HEADLINES = 50;

const PROVIDERS = ['DJ-N', 'RTFL', 'BRFG', 'DJ-GL', 'REUTERS'];

const TEMPLATES = [
  (s: string, n: string) => `${s}: ${n} shares active in early trading`,
  (s: string, n: string) => `${n} (${s}) analyst raises price target`,
  (s: string, n: string) => `${s} - ${n} to present at industry conference`,
  (s: string, n: string) => `${n} files quarterly report; ${s} options volume above average`,
];

interface AddedHeadline {
  headline: string;
  tickers: string[];
  provider: string;
  sentiment: number;
  at: number;
}

/** A deterministic value in [0, 1) for the given integer parts. */
const unit = (...parts: number[]): number => (hash32(...parts) >>> 0) / 4294967296;

const added = (state: SimState) => extOf<AddedHeadline[]>(state, 'news', () => []);

function selectedAccount(state: SimState): string {
  const ids = state.portfolio.accountIds();
  const sel = state.session.selectedAccount;
  return ids.includes(sel) ? sel : (ids[0] ?? '');
}

/** The headlines for the selected account, newest first. */
function headlines(state: SimState): Record<string, unknown>[] {
  const now = state.clock.now();
  const day = Math.floor(now / 86_400_000);
  const out: Record<string, unknown>[] = added(state).map((h, i) => ({
    id: `SIM$${(0x5000 + i).toString(16)}`,
    headline: h.headline,
    source: h.provider,
    provider: h.provider,
    sentiment: h.sentiment,
    receiptTime: h.at,
    tickers: h.tickers,
  }));
  const held = state.portfolio
    .holdings(selectedAccount(state))
    .map((h) => state.universe.get(h.conid))
    .filter((i) => i !== undefined && i.secType === 'STK')
    .sort((a, b) => (a?.conid ?? 0) - (b?.conid ?? 0));
  for (const inst of held) {
    if (!inst) continue;
    const count = 1 + Math.floor(unit(state.seed, inst.conid, day) * 2);
    for (let k = 0; k < count; k++) {
      const u = unit(state.seed, inst.conid, day, k + 1);
      const template = TEMPLATES[Math.floor(u * TEMPLATES.length)] ?? TEMPLATES[0]!;
      const provider = PROVIDERS[Math.floor(unit(inst.conid, k) * PROVIDERS.length)] ?? 'DJ-N';
      out.push({
        id: `${provider}$${(inst.conid * 10 + k).toString(16)}`,
        headline: template(inst.symbol, inst.name),
        source: provider,
        provider,
        sentiment: Number((unit(state.seed, inst.conid, k + 7) * 2 - 1).toFixed(2)),
        receiptTime: now - Math.floor(u * 8 * 3_600_000),
        tickers: [inst.symbol],
      });
    }
  }
  out.sort((a, b) => (b['receiptTime'] as number) - (a['receiptTime'] as number));
  return out.slice(0, MAX_HEADLINES);
}

export function register(router: Router, state: SimState): void {
  router.get('/iserver/news/portfolio', () => json(headlines(state)));

  router.addControl('POST', '/sim/news', (ctx) => {
    const b = (ctx.body ?? {}) as { add?: unknown; clear?: unknown };
    const list = added(state);
    if (b.clear === true) list.length = 0;
    for (const h of Array.isArray(b.add) ? b.add : []) {
      const r = (h ?? {}) as Record<string, unknown>;
      list.push({
        headline: String(r['headline'] ?? ''),
        tickers: Array.isArray(r['tickers']) ? r['tickers'].map(String) : [],
        provider: typeof r['provider'] === 'string' ? r['provider'] : 'DJ-N',
        sentiment: typeof r['sentiment'] === 'number' ? r['sentiment'] : 0,
        at: state.clock.now(),
      });
    }
    return json({ headlines: list.length });
  });
}
