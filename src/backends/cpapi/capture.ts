/**
 * Capture mode (`--capture DIR`): every gateway request and answer of a session, redacted, as
 * fixture files. The HTTP client (http.ts) hands each exchange to the recorder; nothing is written
 * before it went through the redactor below.
 *
 * Format (docs/capture.md): DIR/capture.json describes the capture; each endpoint pattern has its
 * own JSON Lines file, e.g. DIR/GET_portfolio_{accountId}_summary.jsonl, one exchange a line:
 *   {"seq":3,"source":"…","method":"GET","path":"/portfolio/ACCT1/summary",
 *    "pattern":"/portfolio/{accountId}/summary","query":{…},"requestBody":…,"status":200,"body":…}
 *
 * Redaction is consistent across every file of one capture: the same account id is the same ACCTn
 * everywhere, the same name the same NAMEn, and one random factor scales every amount of the
 * account. The mapping and the factor live only in memory and are never written.
 */
import { randomInt } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact as redactSecrets } from '../../log.js';

/** One request and its answer, as the HTTP client saw them. */
export interface Exchange {
  method: string;
  /** The API path below /v1/api, without the query. */
  path: string;
  query?: Record<string, string> | undefined;
  requestBody?: unknown;
  status: number;
  body: unknown;
}

/** What the HTTP client calls for each exchange. */
export interface ExchangeRecorder {
  record(exchange: Exchange): void;
}

export const CAPTURE_FORMAT = 'ibkr-mcp-capture/1';
export const CAPTURE_MANIFEST = 'capture.json';

// IB account ids: U1234567, DU1234567, DF1234567, F1234567 (and sub-accounts like U1234567.Core).
const ACCOUNT_ID_RE = /(?<![A-Za-z0-9])(?:DU|DF|U|F)\d{4,}(?![0-9])/g;
const EMAIL_RE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const IPV4_RE = /(?<![0-9.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9.])/g;
const MAC_RE = /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])/g;

/** Keys (lower case) whose string value is a name of the account or its holder. */
const NAME_KEYS = new Set([
  'accounttitle',
  'displayname',
  'accountalias',
  'alias',
  'accountname',
  'username',
  'user_name',
  'paper_user_name',
  'credential',
  'companyname',
  'company',
  'fullname',
  'firstname',
  'lastname',
  'name_of_account',
]);
/** Keys (lower case) whose value is a secret or identifies the user or the machine: masked. */
const MASK_KEYS = new Set([
  'sessionid',
  'session',
  'token',
  'cookie',
  'authorization',
  'userid',
  'user_id',
  'ssouserid',
  'ip',
  'ipaddress',
  'email',
  'mac',
  'hardware_info',
  'hardwareinfo',
]);
/** Keys (lower case) removed with their value. */
const DROP_KEYS = new Set(['serverinfo', 'servername', 'serverversion']);
/** Keys (lower case) whose string values are account ids. */
const ID_KEYS = new Set(['accountid', 'acctid', 'account', 'acct', 'accountvan', 'selectedaccount', 'id', 'desc']);

/** Endpoints whose numbers are public market data, never scaled. */
const MARKET_PATH = /^\/(iserver\/(marketdata|secdef|contract|exchangerate|scanner)|trsrv|hmds|md)\b/;
/** Amounts of the account, by key (lower case), on any other endpoint. */
const MONEY_KEY =
  /^(position|mktvalue|marketvalue|basemktvalue|unrealizedpnl|realizedpnl|baseunrealizedpnl|baserealizedpnl|dailypnl|dpl|nl|upl|el|mv|uel|commission|commissions|cashbalance|netliquidation|netliquidationvalue|equitywithloanvalue|buyingpower|availablefunds|excessliquidity|totalcashvalue|settledcash|current|change|after|amount)$/;
/** Ledger and summary keys that are not amounts. */
const NOT_MONEY =
  /exchangerate|endofbundle|timestamp|severity|^key$|secondkey|acctcode|currency|leverage|cushion|daytrades|count|ready|code|type|title|segment|isnull/;

function scaleNumber(n: number, factor: number): number {
  if (!Number.isFinite(n) || n === 0 || n === -1) return n;
  return Math.round(n * factor * 100) / 100;
}

/** Scales the leading number of IB's text amounts ("1,977.60 USD", "-12.5") and keeps the rest. */
function scaleText(s: string, factor: number): string {
  const m = /^(\s*)(-?[\d,]*\.?\d+)(.*)$/s.exec(s);
  if (!m) return s;
  const n = Number(m[2]!.replace(/,/g, ''));
  if (!Number.isFinite(n)) return s;
  const decimals = m[2]!.includes('.') ? m[2]!.split('.')[1]!.length : 0;
  const scaled = scaleNumber(n, factor);
  const text = m[2]!.includes(',')
    ? scaled.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
    : scaled.toFixed(decimals);
  return `${m[1]}${text}${m[3]}`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A random factor in [0.3, 3), not within 10 % of 1. */
export function randomFactor(): number {
  for (;;) {
    const f = 0.3 + randomInt(0, 2_700_000) / 1_000_000;
    if (Math.abs(f - 1) > 0.1) return f;
  }
}

/** The redaction of one capture: account ids, names, secrets, amounts. */
export class CaptureRedactor {
  private readonly accounts = new Map<string, string>();
  private readonly names = new Map<string, string>();

  constructor(private readonly factor: number) {}

  /** The alias of an account id, assigned in order of appearance. */
  accountAlias(id: string): string {
    let a = this.accounts.get(id);
    if (!a) {
      a = `ACCT${this.accounts.size + 1}`;
      this.accounts.set(id, a);
    }
    return a;
  }

  private nameAlias(name: string): string {
    let a = this.names.get(name);
    if (!a) {
      a = `NAME${this.names.size + 1}`;
      this.names.set(name, a);
    }
    return a;
  }

  /** Learns the account ids an answer lists (before anything of it is replaced). */
  private learn(value: unknown, key: string | undefined, listing: boolean): void {
    if (typeof value === 'string') {
      const k = key?.toLowerCase();
      for (const m of value.matchAll(ACCOUNT_ID_RE)) this.accountAlias(m[0]);
      if (listing && k && ID_KEYS.has(k) && /^[A-Za-z0-9._-]{2,32}$/.test(value)) this.accountAlias(value);
      return;
    }
    if (Array.isArray(value)) {
      for (const v of value) this.learn(v, key === 'accounts' ? 'account' : undefined, listing);
      return;
    }
    if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        // /iserver/accounts keys its aliases and properties by account id.
        if (listing && (k === 'aliases' || k === 'acctProps') && v && typeof v === 'object') {
          for (const id of Object.keys(v)) this.accountAlias(id);
        }
        for (const m of k.matchAll(ACCOUNT_ID_RE)) this.accountAlias(m[0]);
        this.learn(v, k, listing);
      }
    }
  }

  /** Replaces ids, names, addresses and registered secrets inside a string. */
  text(s: string): string {
    let out = s;
    for (const m of out.matchAll(ACCOUNT_ID_RE)) this.accountAlias(m[0]);
    const known = [...this.accounts.keys()].sort((a, b) => b.length - a.length);
    for (const id of known) {
      if (!out.includes(id)) continue;
      out = out.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRe(id)}(?![0-9])`, 'g'), this.accounts.get(id)!);
    }
    for (const [name, alias] of [...this.names].sort((a, b) => b[0].length - a[0].length)) {
      if (name.length >= 3 && out.includes(name)) out = out.split(name).join(alias);
    }
    out = out
      .replace(EMAIL_RE, 'user@example.invalid')
      .replace(IPV4_RE, '192.0.2.1')
      .replace(MAC_RE, '00:00:5E:00:53:00');
    return redactSecrets(out);
  }

  private walk(
    value: unknown,
    key: string | undefined,
    money: (k: string, parent: string | undefined) => boolean,
    parent?: string,
  ): unknown {
    const k = key?.toLowerCase();
    if (k !== undefined && MASK_KEYS.has(k) && value !== null && value !== undefined && typeof value !== 'boolean') {
      if (typeof value === 'number') return 0;
      if (typeof value === 'string') return 'REDACTED';
      return {};
    }
    if (k !== undefined && NAME_KEYS.has(k) && typeof value === 'string' && value !== '') {
      return this.nameAlias(value);
    }
    if (typeof value === 'string') {
      const scaled = k !== undefined && money(k, parent) ? scaleText(value, this.factor) : value;
      return this.text(scaled);
    }
    if (typeof value === 'number') return k !== undefined && money(k, parent) ? scaleNumber(value, this.factor) : value;
    if (Array.isArray(value)) return value.map((v) => this.walk(v, key, money, parent));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [ck, v] of Object.entries(value)) {
        const lk = ck.toLowerCase();
        if (DROP_KEYS.has(lk)) continue;
        // /iserver/accounts: {aliases: {U123: "my alias"}}: the values are names.
        if (lk === 'aliases' && v && typeof v === 'object' && !Array.isArray(v)) {
          const aliases: Record<string, unknown> = {};
          for (const [id, name] of Object.entries(v)) {
            aliases[this.text(id)] =
              typeof name === 'string' && name !== id ? this.nameAlias(name) : this.text(String(name));
          }
          out.aliases = aliases;
          continue;
        }
        out[this.text(ck)] = this.walk(v, ck, money, k);
      }
      return out;
    }
    return value;
  }

  /** Which keys of this endpoint's answer are amounts of the account. */
  private moneyRule(path: string): (k: string, parent: string | undefined) => boolean {
    if (MARKET_PATH.test(path)) return () => false;
    if (/^\/portfolio\/[^/]+\/(ledger|allocation)$/.test(path)) return (k) => !NOT_MONEY.test(k);
    if (/^\/portfolio\/[^/]+\/summary$/.test(path)) {
      return (k, parent) => k === 'amount' && !(parent && NOT_MONEY.test(parent));
    }
    if (path.endsWith('/pnl/partitioned')) return (k) => !NOT_MONEY.test(k) && MONEY_KEY.test(k);
    // Order amounts (what-if "amount"/"total") are price × quantity of public instruments; the
    // commission and the account's equity and margin are the account's.
    if (path.endsWith('/whatif')) {
      return (k, parent) =>
        k === 'commission' || (parent !== undefined && /^(equity|initial|maintenance)$/.test(parent));
    }
    if (/\/orders?\b|\/trades$/.test(path)) return (k) => k === 'commission' || k === 'commissions';
    return (k, parent) => MONEY_KEY.test(k) && k !== 'amount' && !(parent && NOT_MONEY.test(parent));
  }

  /** The redacted exchange, ready to be written. */
  redact(e: Exchange): Required<Pick<Exchange, 'method' | 'path' | 'status' | 'body'>> & {
    pattern: string;
    query?: Record<string, string>;
    requestBody?: unknown;
  } {
    const listing = /^\/(iserver\/accounts|portfolio\/(sub)?accounts)$/.test(e.path);
    // Ids first, in order of appearance: the path, the query, what was sent, what came back.
    for (const m of e.path.matchAll(ACCOUNT_ID_RE)) this.accountAlias(m[0]);
    this.learn(e.query, undefined, false);
    this.learn(e.requestBody, undefined, false);
    this.learn(e.body, undefined, listing);
    const aliases = new Set(this.accounts.values());
    const segments = e.path.split('/').map((seg) => this.text(decodeURIComponent(seg)));
    const path = segments.join('/');
    const pattern = segments
      .map((seg) => (aliases.has(seg) ? '{accountId}' : /^\d+$/.test(seg) ? '{n}' : seg))
      .join('/');
    const money = this.moneyRule(pattern.replace(/\{accountId\}/g, 'A'));
    const out: ReturnType<CaptureRedactor['redact']> = {
      method: e.method,
      path,
      pattern,
      status: e.status,
      body: this.walk(e.body, undefined, money),
    };
    if (e.query && Object.keys(e.query).length > 0) {
      out.query = this.walk(e.query, undefined, () => false) as Record<string, string>;
    }
    if (e.requestBody !== undefined) out.requestBody = this.walk(e.requestBody, undefined, () => false);
    return out;
  }
}

/** The file an endpoint pattern's exchanges go to: GET_portfolio_{accountId}_summary.jsonl. */
export function captureFileName(method: string, pattern: string): string {
  const p = pattern.replace(/^\/+/, '').replace(/[^A-Za-z0-9{}._-]+/g, '_');
  return `${method.toUpperCase()}_${p || 'root'}.jsonl`;
}

export interface CaptureOptions {
  /** The amount factor; default random per capture. */
  factor?: number;
  /** Written into every line's `source`. */
  source?: string;
}

/** A recorder writing a redacted capture into `dir` (created 0700; files 0600). */
export class CaptureWriter implements ExchangeRecorder {
  private readonly redactor: CaptureRedactor;
  private seq = 0;
  private readonly source: string;

  constructor(
    readonly dir: string,
    opts: CaptureOptions = {},
  ) {
    if (existsSync(dir) && readdirSync(dir).some((f) => f === CAPTURE_MANIFEST || f.endsWith('.jsonl'))) {
      throw new Error(
        `The capture directory ${dir} already holds a capture. Give an empty or new directory: one capture a directory keeps its redaction consistent.`,
      );
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    this.redactor = new CaptureRedactor(opts.factor ?? randomFactor());
    const day = new Date().toISOString().slice(0, 10);
    this.source = opts.source ?? `ibkr-mcp capture of ${day}, redacted`;
    const manifest = join(dir, CAPTURE_MANIFEST);
    writeFileSync(
      manifest,
      `${JSON.stringify(
        {
          format: CAPTURE_FORMAT,
          source: this.source,
          redaction:
            'account ids → ACCTn, names → NAMEn, secrets and user ids masked, amounts of the account scaled by one undisclosed factor',
          files: 'one JSON Lines file per method and endpoint pattern; one exchange a line',
        },
        null,
        2,
      )}\n`,
      { mode: 0o600 },
    );
    chmodSync(manifest, 0o600);
  }

  record(e: Exchange): void {
    const r = this.redactor.redact(e);
    const line = { seq: ++this.seq, source: this.source, ...r };
    // Registered secrets never reach the disk, however they were nested or escaped.
    const text = redactSecrets(JSON.stringify(line));
    const file = join(this.dir, captureFileName(r.method, r.pattern));
    const fresh = !existsSync(file);
    appendFileSync(file, `${text}\n`, { mode: 0o600 });
    if (fresh) chmodSync(file, 0o600);
  }
}
