/**
 * The simulator's Flex statements: an Activity Flex answer (<FlexQueryResponse type="AF">) for an
 * account over a period, in IB's element and attribute names (docs/ib/flex.md): account
 * information, trades, cash transactions (deposits, dividends, withholding tax, interest), open
 * positions, the FIFO performance summary and the change in NAV. The history is made up from the
 * seed (the same seed, the same statement) over the simulator's US stocks at its own prices, then
 * the executions of this simulator's session (orders placed through it) are added.
 * Simplification: realised P&L uses the average cost, which equals FIFO only for simple histories.
 */
import { hash32, hashString, Rng } from './rng.js';
import type { SimState } from './state.js';
import type { Instrument } from './universe.js';

export interface StatementSpec {
  accountId: string;
  currency: string;
  queryName: string;
  /** Epoch ms of the first and last day (UTC midnight). */
  from: number;
  to: number;
  /** Executions a trading day of the made-up history. */
  tradesPerDay: number;
  /** Sections of the query (all when absent). */
  sections?: readonly string[];
  generatedAt: number;
}

interface Book {
  qty: number;
  cost: number;
  realized: number;
}

const DAY = 86_400_000;

/** yyyyMMdd of an epoch ms (UTC). */
export function ymd(t: number): string {
  return new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
}

function hms(t: number): string {
  return new Date(t).toISOString().slice(11, 19).replace(/:/g, '');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/>/g, '&gt;');
const money = (v: number) => String(Math.round(v * 100) / 100);
const attrs = (o: Record<string, string | number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}="${esc(String(v))}"`)
    .join(' ');

export function statementXml(state: SimState, spec: StatementSpec): string {
  const stocks = state.universe
    .all()
    .filter((i) => i.secType === 'STK' && i.isUS)
    .slice(0, 15);
  const rng = new Rng(hash32(state.seed, spec.from / DAY, spec.to / DAY, hashString(spec.accountId)));
  const books = new Map<number, Book>();
  const trades: string[] = [];
  const cash: string[] = [];
  const acct = spec.accountId;
  const ccy = spec.currency;
  const deposit = 250_000;
  let cashBal = deposit;
  let dividends = 0;
  let commissions = 0;
  let tradeSeq = hash32(state.seed, 7) % 1_000_000_000;
  cash.push(
    `<CashTransaction ${attrs({ accountId: acct, currency: ccy, assetCategory: '', symbol: '', conid: '', description: 'CASH RECEIPTS / ELECTRONIC FUND TRANSFERS', dateTime: `${ymd(spec.from)};000000`, settleDate: ymd(spec.from), amount: deposit, type: 'Deposits/Withdrawals', levelOfDetail: 'DETAIL' })} />`,
  );

  const trade = (inst: Instrument, t: number, side: 'BUY' | 'SELL', qty: number, price: number) => {
    const b = books.get(inst.conid) ?? { qty: 0, cost: 0, realized: 0 };
    const commission = -Math.max(1, Math.round(qty * 0.005 * 100) / 100);
    const proceeds = (side === 'BUY' ? -1 : 1) * qty * price;
    let realized = 0;
    let oc = 'O';
    if (side === 'BUY') {
      b.cost += qty * price - commission;
      b.qty += qty;
    } else {
      const avg = b.qty > 0 ? b.cost / b.qty : price;
      realized = qty * (price - avg) + commission;
      b.cost -= avg * qty;
      b.qty -= qty;
      b.realized += realized;
      oc = 'C';
    }
    books.set(inst.conid, b);
    cashBal += proceeds + commission;
    commissions += commission;
    tradeSeq++;
    trades.push(
      `<Trade ${attrs({
        accountId: acct,
        currency: inst.currency,
        assetCategory: 'STK',
        symbol: inst.symbol,
        description: inst.name,
        conid: inst.conid,
        listingExchange: inst.listingExchange,
        multiplier: 1,
        tradeID: tradeSeq,
        reportDate: ymd(t),
        dateTime: `${ymd(t)};${hms(t)}`,
        tradeDate: ymd(t),
        settleDateTarget: ymd(t + 2 * DAY),
        transactionType: 'ExchTrade',
        exchange: inst.listingExchange,
        quantity: side === 'BUY' ? qty : -qty,
        tradePrice: price,
        tradeMoney: money(side === 'BUY' ? qty * price : -qty * price),
        proceeds: money(proceeds),
        ibCommission: money(commission),
        ibCommissionCurrency: inst.currency,
        netCash: money(proceeds + commission),
        fifoPnlRealized: money(realized),
        buySell: side,
        openCloseIndicator: oc,
        orderType: 'LMT',
        levelOfDetail: 'EXECUTION',
      })} />`,
    );
  };

  const price = (inst: Instrument, t: number) => Math.round(state.prices.mid(inst, t) * 100) / 100;
  for (let day = spec.from; day <= spec.to; day += DAY) {
    const wd = new Date(day).getUTCDay();
    if (wd === 0 || wd === 6) continue;
    for (let k = 0; k < spec.tradesPerDay && stocks.length > 0; k++) {
      const inst = stocks[rng.int(0, stocks.length - 1)] as Instrument;
      const t = day + 14 * 3_600_000 + 30 * 60_000 + rng.int(0, 6.5 * 3_600_000);
      const p = price(inst, t);
      const held = books.get(inst.conid)?.qty ?? 0;
      if (held >= 10 && rng.next() < 0.45) trade(inst, t, 'SELL', Math.max(1, Math.floor(held * rng.next() * 0.8)), p);
      else if (cashBal > 5_000) trade(inst, t, 'BUY', Math.max(1, Math.floor(rng.int(1000, 5000) / p)), p);
    }
    // Quarterly dividends (mid-month of Mar, Jun, Sep, Dec) on what is held.
    const d = new Date(day);
    if (d.getUTCDate() === 15 && d.getUTCMonth() % 3 === 2) {
      for (const inst of stocks) {
        const held = books.get(inst.conid)?.qty ?? 0;
        if (held <= 0 || inst.conid % 3 === 0) continue;
        const per = Math.round((0.1 + (inst.conid % 7) * 0.05) * 100) / 100;
        const amount = Math.round(held * per * 100) / 100;
        const desc = `${inst.symbol}(US${String(inst.conid).padStart(9, '0')}) Cash Dividend USD ${per} per Share (Ordinary Dividend)`;
        const base = {
          accountId: acct,
          currency: inst.currency,
          assetCategory: 'STK',
          symbol: inst.symbol,
          conid: inst.conid,
          description: desc,
          dateTime: `${ymd(day)};202000`,
          settleDate: ymd(day),
          levelOfDetail: 'DETAIL',
        };
        cash.push(`<CashTransaction ${attrs({ ...base, amount: money(amount), type: 'Dividends' })} />`);
        cash.push(
          `<CashTransaction ${attrs({ ...base, amount: money(-amount * 0.15), type: 'Withholding Tax', description: `${desc} - US Tax` })} />`,
        );
        dividends += amount;
        cashBal += amount * 0.85;
      }
    }
    if (d.getUTCDate() === 3) {
      const interest = Math.round(Math.max(0, cashBal) * 0.003) / 100;
      cash.push(
        `<CashTransaction ${attrs({ accountId: acct, currency: ccy, assetCategory: '', symbol: '', conid: '', description: `${ccy} CREDIT INT FOR ${new Date(day - DAY).toISOString().slice(0, 7)}`, dateTime: `${ymd(day)};202000`, settleDate: ymd(day), amount: money(interest), type: 'Broker Interest Received', levelOfDetail: 'DETAIL' })} />`,
      );
      cashBal += interest;
    }
  }
  // The executions of this simulator's session, in the period.
  const engine = state.ext.get('orders') as
    | {
        executions?: {
          acct: string;
          inst: Instrument;
          side: 'BUY' | 'SELL';
          qty: number;
          price: number;
          time: number;
        }[];
      }
    | undefined;
  for (const e of engine?.executions ?? []) {
    if (e.acct === acct && e.time >= spec.from && e.time < spec.to + DAY && e.inst.secType === 'STK')
      trade(e.inst, e.time, e.side, e.qty, e.price);
  }

  const end = spec.to + 20 * 3_600_000;
  const positions: string[] = [];
  const perf: string[] = [];
  let value = 0;
  for (const inst of stocks) {
    const b = books.get(inst.conid);
    if (!b) continue;
    const mark = price(inst, end);
    const unreal = b.qty > 0 ? b.qty * mark - b.cost : 0;
    if (b.qty > 0) {
      value += b.qty * mark;
      positions.push(
        `<OpenPosition ${attrs({ accountId: acct, currency: inst.currency, assetCategory: 'STK', symbol: inst.symbol, description: inst.name, conid: inst.conid, listingExchange: inst.listingExchange, reportDate: ymd(spec.to), position: b.qty, markPrice: mark, positionValue: money(b.qty * mark), openPrice: money(b.cost / b.qty), costBasisPrice: money(b.cost / b.qty), costBasisMoney: money(b.cost), fifoPnlUnrealized: money(unreal), side: 'Long', levelOfDetail: 'SUMMARY' })} />`,
      );
    }
    perf.push(
      `<FIFOPerformanceSummaryUnderlying ${attrs({ accountId: acct, assetCategory: 'STK', symbol: inst.symbol, description: inst.name, conid: inst.conid, listingExchange: inst.listingExchange, reportDate: ymd(spec.to), totalRealizedPnl: money(b.realized), totalUnrealizedPnl: money(unreal), totalFifoPnl: money(b.realized + unreal) })} />`,
    );
  }
  const endingValue = cashBal + value;
  const twr = ((endingValue - deposit) / deposit) * 100;
  const all = spec.sections === undefined;
  const has = (s: string) => all || spec.sections?.includes(s);
  const parts = [
    `<AccountInformation ${attrs({ accountId: acct, acctAlias: '', currency: ccy, name: 'Simulated Account', accountType: 'Individual', customerType: 'Individual', accountCapabilities: 'Margin', tradingPermissions: 'Stocks,Options,Futures,Forex' })} />`,
    has('ChangeInNAV')
      ? `<ChangeInNAV ${attrs({ accountId: acct, currency: ccy, fromDate: ymd(spec.from), toDate: ymd(spec.to), startingValue: 0, mtm: money(endingValue - deposit - dividends * 0.85 - commissions), realized: 0, depositsWithdrawals: deposit, dividends: money(dividends), withholdingTax: money(-dividends * 0.15), commissions: money(commissions), endingValue: money(endingValue), twr: Math.round(twr * 1e4) / 1e4 })} />`
      : '',
    has('Trades') ? `<Trades>\n${trades.join('\n')}\n</Trades>` : '',
    has('CashTransactions') ? `<CashTransactions>\n${cash.join('\n')}\n</CashTransactions>` : '',
    has('OpenPositions') ? `<OpenPositions>\n${positions.join('\n')}\n</OpenPositions>` : '',
    has('FIFOPerformanceSummaryInBase')
      ? `<FIFOPerformanceSummaryInBase>\n${perf.join('\n')}\n</FIFOPerformanceSummaryInBase>`
      : '',
  ].filter(Boolean);
  return [
    `<FlexQueryResponse queryName="${esc(spec.queryName)}" type="AF">`,
    '<FlexStatements count="1">',
    `<FlexStatement accountId="${esc(acct)}" fromDate="${ymd(spec.from)}" toDate="${ymd(spec.to)}" period="" whenGenerated="${ymd(spec.generatedAt)};${hms(spec.generatedAt)}">`,
    ...parts,
    '</FlexStatement>',
    '</FlexStatements>',
    '</FlexQueryResponse>',
    '',
  ].join('\n');
}
