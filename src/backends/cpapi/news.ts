/**
 * News headlines. IB's specs (/work/shared/ib) document no news endpoint. The Client Portal
 * gateway serves GET /iserver/news/portfolio, the headlines of the selected account's holdings:
 * a public probe of a real gateway (Build 10.46.1l, 2026-06-18) read 50 headlines with the fields
 * id, headline, source, provider, sentiment, receiptTime (epoch ms) and tickers, and found the
 * per-contract form (/iserver/news?conid=…) answering 503 "server id not found" or timing out, and
 * no article text (404). So only the portfolio form is called; a contract's news is its headlines
 * among them. IB's older news widget answered {news: {content: [{newsId, headlineContent, source,
 * conid, time, sentiment}]}} (recorded 2020): read too.
 *
 * The list is the selected account's: it is read with that account selected (session.forAccount).
 */
import type { CallOptions } from '../../broker/backend.js';
import { BrokerError, isBrokerError } from '../../broker/errors.js';
import type { NewsHeadline, NewsHeadlines } from '../../broker/research.js';
import type { CpapiHttp } from './http.js';
import { isObject, noErrorBody, type Row, str } from './wire.js';

/** The rows of an answer: an array, or the array under one of the keys IB has used. */
function rowsOf(data: unknown): Row[] {
  if (Array.isArray(data)) return data.filter(isObject);
  const body = noErrorBody(data, 'send news headlines');
  for (const key of ['news', 'headlines', 'items', 'content']) {
    const v = body[key];
    if (Array.isArray(v)) return v.filter(isObject);
    if (isObject(v) && Array.isArray(v['content'])) return v['content'].filter(isObject);
  }
  return [];
}

/** An epoch (ms or s, number or text) or a date text as ISO 8601 UTC; undefined when it is none. */
function isoTime(v: unknown): string | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (Number.isFinite(n) && n > 0) {
    const d = new Date(n < 1e11 ? n * 1000 : n);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  }
  const s = str(v);
  if (!s) return undefined;
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function tickersOf(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(/[,\s]+/) : [];
  return list.map((t) => str(t)).filter((t): t is string => t !== undefined);
}

/** IB's headlines, newest first; a row without headline text is left out. */
export function parseNewsHeadlines(data: unknown): NewsHeadline[] {
  const out: NewsHeadline[] = [];
  for (const r of rowsOf(data)) {
    const headline = str(r['headline']) ?? str(r['headlineContent']) ?? str(r['title']);
    if (!headline) continue;
    const h: NewsHeadline = { headline, tickers: tickersOf(r['tickers'] ?? r['symbols']) };
    const id = str(r['id']) ?? str(r['newsId']);
    if (id) h.id = id;
    const provider = str(r['provider']) ?? str(r['source']);
    if (provider) h.provider = provider;
    const time = isoTime(r['receiptTime'] ?? r['receiptTime_r'] ?? r['time']);
    if (time) h.time = time;
    const raw = r['sentiment'];
    const sentiment = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
    if (raw !== null && raw !== '' && Number.isFinite(sentiment)) h.sentiment = sentiment;
    out.push(h);
  }
  return out.sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''));
}

export type ForAccount = <T>(
  accountId: string | undefined,
  signal: AbortSignal | undefined,
  work: (accountId: string | undefined) => Promise<T>,
) => Promise<T>;

/** GET /iserver/news/portfolio with the account selected. */
export async function portfolioNews(
  http: CpapiHttp,
  forAccount: ForAccount,
  opts: CallOptions & { accountId?: string | undefined } = {},
): Promise<NewsHeadlines> {
  return forAccount(opts.accountId, opts.signal, async (selected) => {
    try {
      const res = await http.get<unknown>('/iserver/news/portfolio', { signal: opts.signal });
      const headlines = parseNewsHeadlines(res.data);
      return selected ? { accountId: selected, headlines } : { headlines };
    } catch (err) {
      if (isBrokerError(err) && err.code === 'NOT_FOUND') {
        throw new BrokerError('NOT_FOUND', 'This gateway serves no news headlines (IB answered 404).', {
          hint: "IB's news is an undocumented part of its Client Portal API; a gateway build or login without it has none.",
          cause: err,
        });
      }
      throw err;
    }
  });
}
