/**
 * Portfolio endpoints in IB's shapes: GET /portfolio/{accountId}/positions/{pageId},
 * /portfolio/{accountId}/summary, /portfolio/{accountId}/ledger,
 * /portfolio/{accountId}/allocation and GET /iserver/account/pnl/partitioned.
 *
 * Quirks kept: /portfolio/accounts (or /subaccounts) must be called first in a session;
 * positions come 100 a page, sorted by name unless `sort`/`direction` say otherwise, and an
 * empty page is []; stock rows carry multiplier 0.0 and strike "0"; summary keys are
 * lowercase with -c (commodities) and -s (securities) variants; the ledger is keyed by
 * currency plus "BASE" with epoch-second timestamps; the first partitioned-P&L call of a
 * session answers {"upnl":{}}.
 */
import { simPortfolio, type Valuation, type ValuedPosition } from '../portfolio.js';
import { HttpError, json, type Router } from '../server.js';
import type { SimState } from '../state.js';

export const POSITIONS_PAGE_SIZE = 100;

const PORTFOLIO_ACCOUNTS_FIRST = {
  error: 'Bad Request: Please query /portfolio/accounts or /portfolio/subaccounts first',
  statusCode: 400,
};

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

function checkAccount(state: SimState, accountId: string): void {
  if (!state.session.portfolioAccountsQueried) throw new HttpError(400, PORTFOLIO_ACCOUNTS_FIRST);
  if (!simPortfolio(state).hasAccount(accountId)) {
    throw new HttpError(400, { error: `Bad Request: accountId is not valid: ${accountId}`, statusCode: 400 });
  }
}

/** "JAN2027 300 C" style month-year text of a derivative. */
function monthYear(expiry: string): string {
  return `${MONTHS[Number(expiry.slice(4, 6)) - 1]}${expiry.slice(0, 4)}`;
}

function contractDesc(p: ValuedPosition): string {
  const i = p.inst;
  if ((i.secType === 'OPT' || i.secType === 'FOP') && i.expiry) {
    return `${i.symbol} ${monthYear(i.expiry)} ${i.strike} ${i.right} [${i.localSymbol} ${i.multiplier}]`;
  }
  if (i.secType === 'FUT' && i.expiry) return `${i.symbol} ${monthYear(i.expiry)}`;
  return i.symbol;
}

/** One row of /portfolio/{accountId}/positions/{pageId}, as IB sends it. */
export function positionRow(state: SimState, accountId: string, p: ValuedPosition): Record<string, unknown> {
  const i = p.inst;
  const deriv = i.secType === 'OPT' || i.secType === 'FOP' || i.secType === 'FUT';
  const und = i.underlyingConid ? state.universe.get(i.underlyingConid) : undefined;
  const describer = und ?? i;
  const row: Record<string, unknown> = {
    acctId: accountId,
    conid: i.conid,
    contractDesc: contractDesc(p),
    position: p.qty,
    mktPrice: p.price,
    mktValue: r2(p.marketValue),
    currency: i.currency,
    avgCost: Number(p.avgCost.toFixed(6)),
    avgPrice: Number(p.avgPrice.toFixed(6)),
    realizedPnl: r2(p.realized),
    unrealizedPnl: r2(p.unrealized),
    exchs: null,
    expiry: deriv ? (i.expiry ?? null) : null,
    putOrCall: i.right ?? null,
    multiplier: i.secType === 'STK' ? 0.0 : i.multiplier,
    strike: i.strike !== undefined ? String(i.strike) : '0',
    exerciseStyle: i.secType === 'OPT' ? 'AMERICAN' : null,
    conExchMap: [],
    assetClass: i.secType,
    undConid: i.underlyingConid ?? 0,
    model: '',
    incrementRules: [{ lowerEdge: 0.0, increment: i.tickSize }],
    displayRule: {
      magnification: 0,
      displayRuleStep: [{ decimalDigits: i.tickSize < 0.01 ? 4 : 2, lowerEdge: 0.0, wholeDigits: 4 }],
    },
    time: 12,
    chineseName: '',
    allExchanges: i.validExchanges,
    listingExchange: i.listingExchange,
    countryCode: i.countryCode,
    name: describer.name,
    lastTradingDay: deriv ? (i.expiry ?? null) : null,
    group: describer.industry ?? null,
    sector: describer.sector ?? null,
    sectorGroup: describer.category ?? null,
    ticker: i.symbol,
    type: i.secType === 'STK' ? (i.stockType ?? 'COMMON') : null,
    hasOptions: i.optionable,
    fullName: deriv && i.expiry ? contractDesc(p).split(' [')[0] : i.symbol,
    isUS: i.isUS,
    isEventContract: false,
    pageSize: POSITIONS_PAGE_SIZE,
  };
  if (und && (i.secType === 'OPT' || i.secType === 'FOP')) {
    row['undSym'] = und.symbol;
    row['undComp'] = und.name;
  }
  return row;
}

/** Every position row of an account, sorted as IB sorts them (default: by name, ascending). */
export function positionRows(
  state: SimState,
  v: Valuation,
  sort?: string | null,
  direction?: string | null,
): Record<string, unknown>[] {
  const rows = v.positions.map((p) => positionRow(state, v.account.id, p));
  const key = sort?.trim() || 'name';
  const dir = direction === 'd' ? -1 : 1;
  rows.sort((a, b) => {
    const x = a[key] ?? a['name'];
    const y = b[key] ?? b['name'];
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
    return c !== 0 ? c * dir : String(a['contractDesc']).localeCompare(String(b['contractDesc']));
  });
  return rows;
}

interface SummaryValue {
  amount: number;
  currency: string | null;
  isNull: boolean;
  severity: number;
  timestamp: number;
  value: string | null;
}

/** /portfolio/{accountId}/summary: lowercase tags, most with -c and -s variants. */
export function summaryBody(v: Valuation): Record<string, SummaryValue> {
  const b = v.base;
  const ccy = v.account.currency;
  const ts = Math.floor(v.now / 1000) * 1000;
  const out: Record<string, SummaryValue> = {};
  const money = (tag: string, total: number, commodities?: number) => {
    out[tag] = { amount: r2(total), currency: ccy, isNull: false, severity: 0, timestamp: ts, value: null };
    if (commodities !== undefined) {
      out[`${tag}-c`] = {
        amount: r2(commodities),
        currency: ccy,
        isNull: false,
        severity: 0,
        timestamp: ts,
        value: null,
      };
      out[`${tag}-s`] = {
        amount: r2(total - commodities),
        currency: ccy,
        isNull: false,
        severity: 0,
        timestamp: ts,
        value: null,
      };
    }
  };
  const text = (tag: string, value: string) => {
    out[tag] = { amount: 0.0, currency: null, isNull: false, severity: 0, timestamp: ts, value };
  };
  const nlvC = b.futurePnl;
  const elC = nlvC - b.maintMarginC;
  const afC = nlvC - b.initMarginC;
  text('accountcode', v.account.id);
  text('accountready', 'true');
  text('accounttype', v.margin ? 'INDIVIDUAL' : 'CASH');
  money('accruedcash', 0, 0);
  money('accrueddividend', 0, 0);
  money('availablefunds', b.availableFunds, afC);
  money('availabletotrade', b.availableFunds, afC);
  money('availabletowithdraw', Math.max(0, Math.min(b.availableFunds, b.cash)), 0);
  money('billable', 0, 0);
  money('buyingpower', b.buyingPower);
  text('columnprio-c', '2');
  text('columnprio-s', '1');
  text('cushion', b.netLiquidation ? (b.excessLiquidity / b.netLiquidation).toFixed(6) : '1');
  text('daytradesremaining', String(b.dayTradesRemaining));
  for (let d = 1; d <= 4; d++) text(`daytradesremainingt+${d}`, String(b.dayTradesRemaining));
  text('daytradingstatus-s', `: : false: ${b.netLiquidation.toFixed(2)}: :false`);
  text('depositoncredithold', 'null');
  money('equitywithloanvalue', b.netLiquidation, nlvC);
  money('excessliquidity', b.excessLiquidity, elC);
  money('fullavailablefunds', b.availableFunds, afC);
  money('fullexcessliquidity', b.excessLiquidity, elC);
  money('fullinitmarginreq', b.initMargin, b.initMarginC);
  money('fullmaintmarginreq', b.maintMargin, b.maintMarginC);
  money('grosspositionvalue', b.grossPositionValue);
  out['grosspositionvalue-s'] = { ...(out['grosspositionvalue'] as SummaryValue) };
  money('guarantee', 0, 0);
  text('highestseverity', 'null');
  money('indianstockhaircut', 0, 0);
  money('initmarginreq', b.initMargin, b.initMarginC);
  text('leverage-s', b.netLiquidation ? (b.grossPositionValue / b.netLiquidation).toFixed(2) : '0.0');
  money('lookaheadavailablefunds', b.availableFunds, afC);
  money('lookaheadexcessliquidity', b.excessLiquidity, elC);
  money('lookaheadinitmarginreq', b.initMargin, b.initMarginC);
  money('lookaheadmaintmarginreq', b.maintMargin, b.maintMarginC);
  text('lookaheadnextchange', String(Math.floor(v.now / 1000) + 900));
  money('maintmarginreq', b.maintMargin, b.maintMarginC);
  money('netliquidation', b.netLiquidation, nlvC);
  text('netliquidationuncertainty', '0');
  text('nlvandmargininreview', 'false');
  money('pasharesvalue', 0, 0);
  money('physicalcertificatevalue', 0, 0);
  money('postexpirationexcess', b.excessLiquidity, elC);
  money('postexpirationmargin', b.maintMargin, b.maintMarginC);
  money('previousdayequitywithloanvalue', b.netLiquidation - b.daily);
  out['previousdayequitywithloanvalue-s'] = { ...(out['previousdayequitywithloanvalue'] as SummaryValue) };
  money('regtequity', b.netLiquidation - nlvC);
  out['regtequity-s'] = { ...(out['regtequity'] as SummaryValue) };
  money('regtmargin', b.initMargin - b.initMarginC);
  out['regtmargin-s'] = { ...(out['regtmargin'] as SummaryValue) };
  text('segmenttitle-c', 'US Commodities');
  text('segmenttitle-s', 'US Securities');
  money('sma', Math.max(0, b.availableFunds));
  out['sma-s'] = { ...(out['sma'] as SummaryValue) };
  money('totalcashvalue', b.cash, 0);
  money('totaldebitcardpendingcharges', 0, 0);
  text('tradingtype-s', v.account.tradingType);
  text('whatifpmenabled', 'true');
  return out;
}

/** /portfolio/{accountId}/ledger: one entry per currency plus BASE. */
export function ledgerBody(v: Valuation): Record<string, Record<string, unknown>> {
  const ts = Math.floor(v.now / 1000);
  const entry = (
    key: string,
    c: {
      cash: number;
      stock: number;
      option: number;
      future: number;
      unrealized: number;
      realized: number;
      nlv: number;
      fx: number;
    },
  ) => ({
    acctcode: v.account.id,
    cashbalance: r2(c.cash),
    cashbalancefxsegment: 0.0,
    commoditymarketvalue: 0.0,
    corporatebondsmarketvalue: 0.0,
    cryptocurrencyvalue: 0.0,
    currency: key,
    dividends: 0.0,
    exchangerate: Number(c.fx.toFixed(6)),
    funds: 0.0,
    futuremarketvalue: r2(c.future),
    futureoptionmarketvalue: 0.0,
    futuresonlypnl: r2(c.future),
    interest: 0.0,
    issueroptionsmarketvalue: 0.0,
    key: 'LedgerList',
    moneyfunds: 0.0,
    netliquidationvalue: r2(c.nlv),
    realizedpnl: r2(c.realized),
    secondkey: key,
    sessionid: 1,
    settledcash: r2(c.cash),
    severity: 0,
    stockmarketvalue: r2(c.stock),
    stockoptionmarketvalue: r2(c.option),
    tbillsmarketvalue: 0.0,
    tbondsmarketvalue: 0.0,
    timestamp: ts,
    unrealizedpnl: r2(c.unrealized),
    warrantsmarketvalue: 0.0,
  });
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of v.currencies) {
    out[c.currency] = entry(c.currency, {
      cash: c.cash,
      stock: c.stockValue,
      option: c.optionValue,
      future: c.futurePnl,
      unrealized: c.unrealized,
      realized: c.realized,
      nlv: c.netLiquidation,
      fx: c.fx,
    });
  }
  const b = v.base;
  out['BASE'] = entry('BASE', {
    cash: b.cash,
    stock: b.stockValue,
    option: b.optionValue,
    future: b.futurePnl,
    unrealized: b.unrealized,
    realized: b.realized,
    nlv: b.netLiquidation,
    fx: 1,
  });
  const keys = Object.keys(out);
  const last = out[keys[keys.length - 1] as string];
  if (last) last['endofbundle'] = 1;
  return out;
}

/** /portfolio/{accountId}/allocation: market value by asset class, sector and group, long and short. */
interface AllocationBucket {
  long: Record<string, number>;
  short: Record<string, number>;
}

export function allocationBody(
  state: SimState,
  v: Valuation,
): { assetClass: AllocationBucket; sector: AllocationBucket; group: AllocationBucket } {
  const make = () => ({ long: {} as Record<string, number>, short: {} as Record<string, number> });
  const out = { assetClass: make(), sector: make(), group: make() };
  const add = (bucket: { long: Record<string, number>; short: Record<string, number> }, key: string, value: number) => {
    const side = value >= 0 ? bucket.long : bucket.short;
    side[key] = r2((side[key] ?? 0) + value);
  };
  for (const p of v.positions) {
    const value = p.marketValue * p.fx;
    const und = p.inst.underlyingConid ? state.universe.get(p.inst.underlyingConid) : undefined;
    const d = und ?? p.inst;
    add(out.assetClass, p.inst.secType, value);
    add(out.sector, d.sector ?? 'Others', value);
    add(out.group, d.industry ?? 'Others', value);
  }
  for (const c of v.currencies) if (c.cash !== 0) add(out.assetClass, 'CASH', c.cash * c.fx);
  return out;
}

/** /iserver/account/pnl/partitioned rows for every account. */
export function pnlBody(state: SimState): Record<string, Record<string, number>> {
  const portfolio = simPortfolio(state);
  const out: Record<string, Record<string, number>> = {};
  // With account scoping the selected account's row only (POST /iserver/account).
  const ids = state.flags.accountScoping ? [state.session.selectedAccount] : portfolio.accountIds();
  for (const id of ids.filter((a) => portfolio.accountIds().includes(a))) {
    const b = portfolio.valuation(id).base;
    out[`${id}.Core`] = {
      rowType: 1,
      dpl: r2(b.daily),
      nl: r2(b.netLiquidation),
      upl: r2(b.unrealized),
      el: r2(b.excessLiquidity),
      mv: r2(b.stockValue + b.optionValue + b.futurePnl),
    };
  }
  return out;
}

export function register(router: Router, state: SimState): void {
  const portfolio = simPortfolio(state);
  state.hooks.reset.push(() => portfolio.reset());
  // The first partitioned-P&L call of a session answers empty.
  let pnlPrimedFor: string | undefined;

  router.get('/portfolio/:accountId/positions/:pageId', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    checkAccount(state, id);
    const page = Number(ctx.params['pageId']);
    if (!Number.isInteger(page) || page < 0) {
      throw new HttpError(400, { error: 'Bad Request: pageId must be a non-negative integer', statusCode: 400 });
    }
    const rows = positionRows(state, portfolio.valuation(id), ctx.query.get('sort'), ctx.query.get('direction'));
    return json(rows.slice(page * POSITIONS_PAGE_SIZE, (page + 1) * POSITIONS_PAGE_SIZE));
  });

  router.get('/portfolio/:accountId/summary', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    checkAccount(state, id);
    return json(summaryBody(portfolio.valuation(id)));
  });

  router.get('/portfolio/:accountId/ledger', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    checkAccount(state, id);
    return json(ledgerBody(portfolio.valuation(id)));
  });

  router.get('/portfolio/:accountId/allocation', (ctx) => {
    const id = ctx.params['accountId'] ?? '';
    checkAccount(state, id);
    return json(allocationBody(state, portfolio.valuation(id)));
  });

  router.get(
    '/iserver/account/pnl/partitioned',
    () => {
      if (pnlPrimedFor !== state.session.id) {
        pnlPrimedFor = state.session.id;
        return json({ upnl: {} });
      }
      return json({ upnl: pnlBody(state) });
    },
    { requiresAccounts: true },
  );
}
