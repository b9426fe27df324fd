/**
 * IB's Flex Web Service client (docs/ib/flex.md). A service apart from the gateway: its own host,
 * a token instead of a session. Two calls, both GET with a User-Agent (IB refuses requests
 * without one):
 *
 *   {base}/SendRequest?t=TOKEN&q=QUERY_ID&v=3[&fd=YYYYMMDD&td=YYYYMMDD]  → reference code (+ GetStatement URL)
 *   {base}/GetStatement?t=TOKEN&q=REFERENCE_CODE&v=3                      → the statement, or "not yet"
 *
 * Errors come as HTTP 200 with an error envelope. "Not yet" codes (1019 generation in progress,
 * 1001/1004–1009/1021 try again shortly) are waited out; 1018 (more than 1 request a second or 10 a
 * minute per token) is avoided by pacing and, if it comes, waited out longer; token and query
 * errors are BrokerErrors that say what to do. A statement still generating when the wait ends
 * keeps its reference code: the next call for the same query picks it up instead of starting over.
 * The token is never logged, never in an error (URLs with it are not shown), and never sent to a
 * host other than the configured one or IB's own.
 */
import { request } from 'undici';
import { BrokerError } from '../../broker/errors.js';
import { MAX_STATEMENT_DAYS, type StatementRequest, type StatementResult } from '../../broker/statements.js';
import { untrusted } from '../../broker/untrusted.js';
import { isLoopbackHost } from '../../config/index.js';
import type { Logger } from '../../log.js';
import { type FlexEnvelope, parseFlexAnswer } from './statement.js';
import { XML_LIMITS, XmlError } from './xml.js';

export const FLEX_DEFAULT_URL = 'https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService';

/** Codes that mean "the statement is not ready yet, ask again shortly". */
const NOT_YET = new Set([1001, 1004, 1005, 1006, 1007, 1008, 1009, 1019, 1021]);
const THROTTLED = 1018;
/** The reference code is no longer valid: a new SendRequest. */
const NEW_REFERENCE = new Set([1017, 1020]);

export interface FlexTarget {
  /** e.g. https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService */
  baseUrl: string;
  token: string;
  simulated: boolean;
}

export interface FlexClientOptions {
  /** Where and with what to ask; resolved at the first call (the simulator may start late). */
  target: () => Promise<FlexTarget | undefined>;
  userAgent: string;
  log: Logger;
  timeoutMs?: number;
  /** IB's limits per token: 1 request a second, 10 a minute. */
  minIntervalMs?: number;
  perMinute?: number;
  /** Waits between GetStatement polls, in ms (the last one repeats). */
  pollDelaysMs?: number[];
  /** How long a fetched statement answers repeated calls (paging) without a new request. */
  cacheMs?: number;
  /** Largest answer read (default the XML reader's 64 MiB). */
  maxAnswerBytes?: number;
  /** The clock and the wait, for tests. */
  now?: () => number;
  wait?: (ms: number) => Promise<void>;
}

interface Pending {
  referenceCode: string;
  url: string;
  since: number;
}

interface Cached {
  result: StatementResult;
  at: number;
}

export class FlexClient {
  private readonly sent: number[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<StatementResult>>();
  private readonly now: () => number;

  constructor(private readonly opts: FlexClientOptions) {
    this.now = opts.now ?? Date.now;
  }

  async run(req: StatementRequest): Promise<StatementResult> {
    const range = checkRange(req.fromDate, req.toDate);
    const target = await this.opts.target();
    if (!target) {
      throw new BrokerError('REFUSED', 'No Flex Web Service token is configured.', {
        hint: 'Set IB_FLEX_TOKEN (Client Portal: Performance & Reports > Flex Queries > Flex Web Service Configuration) and restart ibkr-mcp.',
      });
    }
    checkTarget(target);
    const key = `${req.queryId}|${range?.fd ?? ''}|${range?.td ?? ''}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < (this.opts.cacheMs ?? 10 * 60_000)) return { ...hit.result, cached: true };

    // The same request already on its way (another call): its answer is this one's too.
    const running = this.inflight.get(key);
    if (running) {
      try {
        return await running;
      } catch (err) {
        // The other call was cancelled, not this one: this one goes on (from the kept reference).
        if (err instanceof BrokerError && err.code === 'CANCELLED' && !req.signal?.aborted) return this.run(req);
        throw err;
      }
    }
    const p = this.fetch(target, req, range, key);
    this.inflight.set(key, p);
    try {
      return await p;
    } catch (err) {
      // A statement still generating (or a call cancelled while it generates) keeps its reference
      // code for the next call; any other failure starts over.
      const keep = err instanceof BrokerError && (err.code === 'GATEWAY_TIMEOUT' || err.code === 'CANCELLED');
      if (!keep) this.pending.delete(key);
      throw err;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async fetch(
    target: FlexTarget,
    req: StatementRequest,
    range: { fd: string; td: string } | undefined,
    key: string,
  ): Promise<StatementResult> {
    const maxWait = req.maxWaitMs ?? 60_000;
    const started = this.now();
    let renewed = false;
    let pending = this.pending.get(key);
    for (;;) {
      if (!pending) {
        pending = await this.sendRequest(target, req, range);
        this.pending.set(key, pending);
      }
      const outcome = await this.poll(target, pending, req, started, maxWait);
      if (outcome.kind === 'statement') {
        this.pending.delete(key);
        const result: StatementResult = {
          statement: outcome.statement,
          fetchedAt: new Date(this.now()).toISOString(),
          simulated: target.simulated,
          cached: false,
        };
        this.cache.set(key, { result, at: this.now() });
        // A few recent statements, for paging; the oldest goes first.
        while (this.cache.size > 4) this.cache.delete(this.cache.keys().next().value as string);
        return result;
      }
      // The reference code is no longer valid: one new request, then the error stands.
      this.pending.delete(key);
      if (renewed) throw flexError(outcome.envelope);
      renewed = true;
      pending = undefined;
    }
  }

  private async sendRequest(
    target: FlexTarget,
    req: StatementRequest,
    range: { fd: string; td: string } | undefined,
  ): Promise<Pending> {
    const params: Record<string, string> = { t: target.token, q: req.queryId, v: '3' };
    if (range) Object.assign(params, range);
    for (;;) {
      const answer = await this.get(target, `${target.baseUrl}/SendRequest`, params, req.signal);
      if (answer.kind === 'statement') throw unexpected('a statement where a reference code was due');
      const env = answer.envelope;
      if (env.status.toLowerCase() === 'success' && env.referenceCode) {
        return {
          referenceCode: env.referenceCode,
          url: this.statementUrl(target, env.url),
          since: this.now(),
        };
      }
      if (env.errorCode === THROTTLED) {
        await this.sleep(10_000, req.signal);
        continue;
      }
      throw flexError(env);
    }
  }

  /** GetStatement until the statement comes, the reference code is refused, or the wait ends. */
  private async poll(
    target: FlexTarget,
    p: Pending,
    req: StatementRequest,
    started: number,
    maxWait: number,
  ): Promise<
    | { kind: 'statement'; statement: import('../../broker/statements.js').Statement }
    | { kind: 'renew'; envelope: FlexEnvelope }
  > {
    const delays = this.opts.pollDelaysMs ?? [1000, 2000, 3000, 5000];
    for (let attempt = 0; ; attempt++) {
      const answer = await this.get(target, p.url, { t: target.token, q: p.referenceCode, v: '3' }, req.signal);
      if (answer.kind === 'statement') return answer;
      const env = answer.envelope;
      const code = env.errorCode ?? 0;
      if (NEW_REFERENCE.has(code)) return { kind: 'renew', envelope: env };
      if (!NOT_YET.has(code) && code !== THROTTLED) throw flexError(env);
      const waited = this.now() - started;
      const delay = code === THROTTLED ? 10_000 : (delays[Math.min(attempt, delays.length - 1)] ?? 5000);
      if (waited + delay > maxWait) {
        throw new BrokerError(
          'GATEWAY_TIMEOUT',
          `IB is still generating the statement after ${Math.round(waited / 1000)} s (Flex ${code}: ${untrusted(env.errorMessage ?? '', { max: 120 })}).`,
          {
            hint: 'Call get_flex_query again with the same query and dates in a minute: it picks up this statement (reference kept) instead of starting over. Large periods take IB longer.',
            details: { flexCode: code },
            retryable: true,
          },
        );
      }
      req.onWait?.(
        waited,
        `IB is generating the statement (Flex ${code}); asking again in ${Math.round(delay / 1000)} s`,
      );
      await this.sleep(delay, req.signal);
    }
  }

  /** The GetStatement URL IB named, if it is IB's or the configured host; else the configured one. */
  private statementUrl(target: FlexTarget, url: string | undefined): string {
    const fallback = `${target.baseUrl}/GetStatement`;
    if (!url) return fallback;
    try {
      const u = new URL(url);
      const base = new URL(target.baseUrl);
      const ours = u.origin === base.origin;
      const ib =
        u.protocol === 'https:' &&
        (u.hostname === 'interactivebrokers.com' || u.hostname.endsWith('.interactivebrokers.com'));
      return ours || ib ? `${u.origin}${u.pathname}` : fallback;
    } catch {
      return fallback;
    }
  }

  private async get(
    target: FlexTarget,
    url: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<ReturnType<typeof parseFlexAnswer>> {
    await this.pace(signal);
    const u = new URL(url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    const what = u.pathname.split('/').pop() ?? 'Flex';
    this.opts.log.debug('flex request', { call: what, host: u.host });
    let status: number;
    let body: string;
    try {
      const res = await request(u, {
        method: 'GET',
        headers: { 'user-agent': this.opts.userAgent, accept: 'application/xml, text/xml' },
        headersTimeout: this.opts.timeoutMs ?? 30_000,
        bodyTimeout: this.opts.timeoutMs ?? 30_000,
        ...(signal ? { signal } : {}),
      });
      status = res.statusCode;
      body = await readBounded(res.body, this.opts.maxAnswerBytes ?? XML_LIMITS.maxBytes);
    } catch (err) {
      this.sent.push(this.now());
      if (err instanceof BrokerError) throw err;
      if (signal?.aborted) throw new BrokerError('CANCELLED', 'The Flex request was cancelled.');
      const code = (err as { code?: string }).code ?? (err as Error).name;
      throw new BrokerError('GATEWAY_UNREACHABLE', `IB's Flex Web Service at ${u.host} did not answer (${code}).`, {
        hint: target.simulated ? 'The simulator did not start.' : 'Check the network, or --flex-url; then try again.',
        retryable: true,
      });
    }
    // Counted when answered: IB counts on arrival, which is no later.
    this.sent.push(this.now());
    if (status !== 200) {
      throw new BrokerError('GATEWAY_ERROR', `IB's Flex Web Service answered HTTP ${status} to ${what}.`, {
        hint: 'Try again in a minute.',
        retryable: status >= 500 || status === 429,
      });
    }
    try {
      return parseFlexAnswer(body);
    } catch (err) {
      const why = err instanceof XmlError ? err.message : 'not a Flex answer';
      throw unexpected(
        `${what} answered something unreadable (${why})`,
        "Is the query's format XML? Flex text/CSV output is not read.",
      );
    }
  }

  /** IB's per-token limits: at least minInterval after the last answer, at most perMinute in any 60 s. */
  private async pace(signal: AbortSignal | undefined): Promise<void> {
    const minInterval = this.opts.minIntervalMs ?? 1100;
    const perMinute = this.opts.perMinute ?? 10;
    for (;;) {
      const now = this.now();
      while (this.sent.length > 0 && now - (this.sent[0] as number) >= 60_000) this.sent.shift();
      const last = this.sent[this.sent.length - 1];
      let wait = last === undefined ? 0 : last + minInterval - now;
      if (this.sent.length >= perMinute) wait = Math.max(wait, (this.sent[0] as number) + 60_000 - now);
      if (wait <= 0) break;
      await this.sleep(wait, signal);
    }
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.opts.wait) return this.opts.wait(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new BrokerError('CANCELLED', 'The Flex request was cancelled.'));
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(new BrokerError('CANCELLED', 'The Flex request was cancelled.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The answer's text, refused beyond `max` bytes (the XML reader's limit) without reading the rest. */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(): unknown }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw unexpected(
        `an answer over ${max >= 1048576 ? `${Math.round(max / 1048576)} MiB` : `${max} bytes`}`,
        'Ask for a shorter period (fromDate, toDate) or fewer sections in the query.',
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The token goes over https, or over http only to this machine (the simulator). */
function checkTarget(t: FlexTarget): void {
  let u: URL;
  try {
    u = new URL(t.baseUrl);
  } catch {
    throw new BrokerError('INVALID_INPUT', 'The Flex Web Service URL (--flex-url) is not a URL.');
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(host))) return;
  throw new BrokerError(
    'REFUSED',
    `The Flex token is sent only over https (or http to this machine); --flex-url is ${u.protocol}//${u.host}.`,
    {
      hint: 'Use an https URL for --flex-url.',
    },
  );
}

/** fd/td for a period: both or neither, valid dates, from ≤ to, at most 365 days (IB's limit). */
export function checkRange(from: string | undefined, to: string | undefined): { fd: string; td: string } | undefined {
  if (from === undefined && to === undefined) return undefined;
  if (from === undefined || to === undefined) {
    throw new BrokerError('INVALID_INPUT', "Give both fromDate and toDate, or neither (the query's own period).");
  }
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to) || Number.isNaN(a) || Number.isNaN(b)) {
    throw new BrokerError('INVALID_INPUT', 'Dates are YYYY-MM-DD.');
  }
  if (a > b) throw new BrokerError('INVALID_INPUT', `fromDate ${from} is after toDate ${to}.`);
  const days = (b - a) / 86_400_000 + 1;
  if (days > MAX_STATEMENT_DAYS) {
    throw new BrokerError(
      'INVALID_INPUT',
      `The period has ${days} days; IB's Flex Web Service gives at most ${MAX_STATEMENT_DAYS} per request.`,
      {
        hint: 'Ask for one year at a time (e.g. 2024-01-01 to 2024-12-31) and combine the answers.',
      },
    );
  }
  return { fd: from.replace(/-/g, ''), td: to.replace(/-/g, '') };
}

function unexpected(what: string, hint = 'Try again; if it persists, check --flex-url.'): BrokerError {
  return new BrokerError('GATEWAY_ERROR', `IB's Flex Web Service: ${what}.`, { hint });
}

/** An error envelope as a BrokerError that says what to do. IB's message is untrusted text. */
export function flexError(env: FlexEnvelope): BrokerError {
  const code = env.errorCode;
  const said = `IB's Flex Web Service answered ${code ?? env.status}: ${untrusted(env.errorMessage ?? 'no message', { max: 160 })}`;
  const details = { flexCode: code };
  switch (code) {
    case 1012:
      return new BrokerError('NOT_AUTHENTICATED', `The Flex token has expired. ${said}`, {
        hint: 'Make a new token in Client Portal (Performance & Reports > Flex Queries > Flex Web Service Configuration), set IB_FLEX_TOKEN to it and restart ibkr-mcp.',
        details,
      });
    case 1015:
    case 1011:
      return new BrokerError('NOT_AUTHENTICATED', `The Flex token is not valid. ${said}`, {
        hint: 'Check IB_FLEX_TOKEN (the Flex Web Service token of Client Portal, not a password), and that the Flex Web Service is enabled.',
        details,
      });
    case 1013:
      return new BrokerError('REFUSED', `IB refused this machine's address for the token. ${said}`, {
        hint: "Allow this machine's IP address in the token's settings in Client Portal.",
        details,
      });
    case 1014:
      return new BrokerError('NOT_FOUND', `IB does not know this query id for this token. ${said}`, {
        hint: 'Check the Query ID in Client Portal (Performance & Reports > Flex Queries, the info icon of the query); list_flex_queries shows the saved ones.',
        details,
      });
    case 1003:
      return new BrokerError('NOT_FOUND', `IB has no statement for this request. ${said}`, {
        hint: "Check the query's period and the dates asked for.",
        details,
      });
    case 1010:
    case 1016:
      return new BrokerError('REFUSED', said, {
        hint: 'Check the query in Client Portal (an Activity Flex query of this account).',
        details,
      });
    case THROTTLED:
      return new BrokerError('RATE_LIMITED', said, { hint: 'Wait a minute and try again.', details });
    default:
      return new BrokerError('GATEWAY_ERROR', said, {
        hint: 'Try again later.',
        details,
        retryable: code !== undefined && NOT_YET.has(code),
      });
  }
}
