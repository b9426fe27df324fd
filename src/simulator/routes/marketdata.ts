/**
 * Market data: GET /iserver/marketdata/snapshot, POST /iserver/marketdata/unsubscribe,
 * GET /iserver/marketdata/unsubscribeall and the old GET /iserver/marketdata/:conid/unsubscribe.
 *
 * Snapshot values come from field providers in state (`state.fieldProviders` keyed by
 * secType with '*' as default, then `state.fieldAugmenters`), so other modules can add
 * greeks for OPT/FOP or position fields without touching this route.
 *
 * Choices: an unknown conid always answers a bare {"conid","conidEx"} row; a missing or
 * non-numeric `conids`, more than 100 conids or more than 50 fields answer 400
 * {"error":…, "statusCode":400}. Without `fields` a row carries only the meta keys.
 */

import { decimalsFor } from '../prices.js';
import { profileOf } from '../profiles.js';
import { HttpError, json, type Router } from '../server.js';
import { type FieldContext, type FieldProvider, type FieldValues, instrumentFlags, type SimState } from '../state.js';
import type { Instrument } from '../universe.js';
import { derivativeSearched } from './options.js';

export const MAX_CONIDS = 100;
export const MAX_FIELDS = 50;
const DELAY_MS = 15 * 60_000;

/** "12.2M", "845.3K", "523". */
export function formatVolume(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}K`;
  return String(Math.round(v));
}

function formatCap(v: number): string {
  if (v >= 1e12) return `${(v / 1e12).toFixed(2)}T`;
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  return `${(v / 1e6).toFixed(2)}M`;
}

const pct = (x: number) => `${x.toFixed(2)}%`;

/** Market data availability code (6509) for an instrument. */
export function availability(state: SimState, inst: Instrument): string {
  const f = instrumentFlags(state, inst.conid);
  if (f.frozen) return f.delayed ? 'YPB' : 'ZPB';
  if (f.delayed) return 'DPB';
  return 'RpB';
}

/** Identity fields every instrument has. */
export function identityFields(inst: Instrument, ctx: FieldContext): FieldValues {
  return {
    '55': inst.symbol,
    '6004': inst.listingExchange,
    '6008': String(inst.conid),
    '6070': inst.secType,
    '6457': String(inst.underlyingConid || inst.conid),
    '7051': inst.name,
    '7219': String(inst.conid),
    '7220': inst.localSymbol,
    '7221': inst.listingExchange,
    ...(inst.industry ? { '7280': inst.industry } : {}),
    ...(inst.category ? { '7281': inst.category } : {}),
    '7094': `${inst.conid}@${inst.listingExchange}`,
    '7184': '1',
    '7768': '1',
    '6509': availability(ctx.state, inst),
  };
}

/** Default quote fields from the random-walk price model (STK, IND, FUT, CASH …). */
export const defaultQuoteFields: FieldProvider = (inst, ctx) => {
  const { state, now } = ctx;
  const flags = instrumentFlags(state, inst.conid);
  let t = now;
  if (flags.delayed) t -= DELAY_MS;
  if (flags.frozen) t = flags.frozenAt ?? t;
  if (flags.halted) t = Math.min(t, flags.haltedAt ?? t);
  const q = state.prices.quote(inst, t);
  const dec = decimalsFor(inst.tickSize);
  const p = (x: number) => x.toFixed(dec);
  const hasBook = inst.secType !== 'IND';
  const hasVolume = inst.avgVolume > 0;
  const out: FieldValues = {};

  if (flags.notTradedToday) {
    out['31'] = `C${p(q.priorClose)}`;
    out['82'] = p(0);
    out['83'] = pct(0);
    if (hasVolume) {
      out['87'] = '0';
      out['87_raw'] = 0;
      out['7762'] = '0';
    }
  } else {
    out['31'] = flags.halted ? `H${p(q.last)}` : p(q.last);
    out['70'] = p(q.high);
    out['71'] = p(q.low);
    out['82'] = p(q.change);
    out['83'] = pct(q.changePct);
    out['7295'] = p(q.open);
    out['7682'] = p(q.last - q.open);
    if (hasVolume) {
      out['87'] = formatVolume(q.volume);
      out['87_raw'] = q.volume;
      out['7762'] = String(q.volume);
      out['7059'] = String(q.lastSize);
    }
  }
  if (hasBook) {
    out['84'] = p(q.bid);
    out['86'] = p(q.ask);
    // IB: for US stocks the bid and ask sizes are "divided by 100" (round lots); others in units.
    const lots = inst.secType === 'STK' && inst.isUS ? 100 : 1;
    out['85'] = String(q.askSize / lots);
    out['88'] = String(q.bidSize / lots);
    out['7635'] = p((q.bid + q.ask) / 2);
  }
  out['7741'] = p(q.priorClose);
  out['7296'] = p(q.priorClose);
  out['7293'] = p(q.high52);
  out['7294'] = p(q.low52);
  if (hasVolume) out['7282'] = formatVolume(q.avgVolume);
  out['7087'] = pct(q.histVol * 100);
  out['7088'] = pct(q.histVol * 100 * 0.98);
  out['7284'] = pct(q.histVol * 100);
  if (inst.optionable) {
    const iv = q.histVol * (0.95 + 0.35 * state.prices.noise(inst, 7283, Math.floor(t / 86_400_000)));
    out['7283'] = pct(iv * 100);
    out['7084'] = pct((iv / Math.max(q.histVol, 1e-6)) * 100);
    out['7285'] = (0.5 + state.prices.noise(inst, 7285, Math.floor(t / 86_400_000))).toFixed(2);
  }
  if (inst.marketCap) out['7289'] = formatCap((inst.marketCap * q.last) / inst.basePrice);
  if (inst.pe) {
    const eps = inst.basePrice / inst.pe;
    out['7290'] = (q.last / eps).toFixed(2);
    out['7291'] = eps.toFixed(2);
  }
  return out;
};

/** Registers the primary provider for a secType ('*' = default); it replaces the default quote fields. */
export function registerFieldProvider(state: SimState, secType: string, provider: FieldProvider): void {
  state.fieldProviders.set(secType, provider);
}

/** Adds a provider whose values are merged on top of the primary ones. */
export function addFieldAugmenter(state: SimState, provider: FieldProvider): void {
  state.fieldAugmenters.push(provider);
}

/** All field values of an instrument (identity + primary provider + augmenters). */
export function quoteFields(
  state: SimState,
  inst: Instrument,
  now: number,
  fields: readonly string[] = [],
): FieldValues {
  const ctx: FieldContext = { state, now, fields };
  const primary = state.fieldProviders.get(inst.secType) ?? state.fieldProviders.get('*') ?? defaultQuoteFields;
  let out: FieldValues = { ...identityFields(inst, ctx), ...primary(inst, ctx) };
  for (const aug of state.fieldAugmenters) out = { ...out, ...aug(inst, ctx) };
  return out;
}

function parseConids(raw: string | null): { conid: number; conidEx: string }[] {
  if (raw === null || raw.trim() === '') {
    throw new HttpError(400, { error: 'Bad Request: conids parameter is required', statusCode: 400 });
  }
  const out: { conid: number; conidEx: string }[] = [];
  for (const part of raw.split(',')) {
    const s = part.trim();
    if (!s) continue;
    const n = Number(s.split('@')[0]);
    if (!Number.isInteger(n) || n <= 0) {
      throw new HttpError(400, { error: `Bad Request: invalid conid '${s}'`, statusCode: 400 });
    }
    out.push({ conid: n, conidEx: s });
  }
  return out;
}

export function register(router: Router, state: SimState): void {
  router.get(
    '/iserver/marketdata/snapshot',
    (ctx) => {
      const conids = parseConids(ctx.query.get('conids'));
      if (conids.length > MAX_CONIDS) {
        return json({ error: `Bad Request: too many conids (${conids.length} > ${MAX_CONIDS})`, statusCode: 400 }, 400);
      }
      const fields = [
        ...new Set(
          (ctx.query.get('fields') ?? '')
            .split(',')
            .map((f) => f.trim())
            .filter(Boolean),
        ),
      ];
      if (fields.length > MAX_FIELDS) {
        return json({ error: `Bad Request: too many fields (${fields.length} > ${MAX_FIELDS})`, statusCode: 400 }, 400);
      }
      const now = state.clock.now();
      const subs = state.session.subscriptions;
      const rows = conids.map(({ conid, conidEx }) => {
        const inst = state.universe.get(conid);
        if (!inst) return { conid, conidEx };
        // IB: a derivative is quoted only after /iserver/secdef/search in the session; before, no data.
        if (state.flags.derivativeSearch && !derivativeSearched(state, inst)) return { conid, conidEx };
        const serverId = subs.get(conid);
        if (serverId === undefined) {
          // Pre-flight: open the stream, no data yet.
          subs.set(conid, `q${state.session.snapshotCounter++}`);
          return { conid, conidEx };
        }
        const values = quoteFields(state, inst, now, fields);
        const row: Record<string, unknown> = {
          _updated: now,
          conidEx,
          conid,
          server_id: serverId,
          '6119': serverId,
          '6509': values['6509'],
        };
        for (const f of fields) {
          const v = values[f];
          if (v !== undefined) row[f] = v;
          const rawV = values[`${f}_raw`];
          if (rawV !== undefined) row[`${f}_raw`] = rawV;
        }
        return row;
      });
      return json(rows);
    },
    { requiresAccounts: true },
  );

  router.post('/iserver/marketdata/unsubscribe', (ctx) => {
    const conid = Number((ctx.body as { conid?: unknown } | undefined)?.conid);
    if (!Number.isInteger(conid) || !state.session.subscriptions.delete(conid)) return json({ error: 'unknown' }, 500);
    return json({ success: true });
  });

  router.get('/iserver/marketdata/unsubscribeall', () => {
    state.session.subscriptions.clear();
    // [V3]: {"unsubscribed":true}; the older gateway ([DOCJSON]): {"confirmed":true}.
    return json(profileOf(state) === '2023' ? { confirmed: true } : { unsubscribed: true });
  });

  router.get('/iserver/marketdata/:conid/unsubscribe', (ctx) => {
    const conid = Number(ctx.params.conid);
    if (!Number.isInteger(conid) || !state.session.subscriptions.delete(conid)) return json({ error: 'unknown' }, 500);
    return json({ confirmed: 'success' });
  });
}
