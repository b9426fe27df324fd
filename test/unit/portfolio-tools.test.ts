import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccountPnl, Ledger, Position } from '../../src/broker/portfolio.js';
import {
  combine,
  positionRates,
  ratesToCurrency,
  sortPositions,
  summarize,
  totalsByCurrency,
} from '../../src/broker/portfolio-math.js';
import { getPnl, positionLine, positionOut } from '../../src/tools/account.js';
import { money, round2 } from '../../src/tools/format.js';

function pos(over: Partial<Position>): Position {
  return {
    accountId: 'DU1',
    conid: 1,
    symbol: 'X',
    secType: 'STK',
    quantity: 10,
    avgCost: 10,
    avgPrice: 10,
    marketPrice: 11,
    marketValue: 110,
    unrealizedPnl: 10,
    realizedPnl: 0,
    currency: 'USD',
    ...over,
  };
}

// A deterministic mixed book with awkward fractions, so rounding could break sums.
function book(n: number): Position[] {
  const out: Position[] = [];
  for (let i = 0; i < n; i++) {
    const qty = (i % 7) - 2 || 3;
    const price = 10 + ((i * 37) % 101) / 3;
    const avg = price * (0.8 + ((i * 13) % 40) / 100);
    const secType = (['STK', 'STK', 'STK', 'OPT', 'FUT'] as const)[i % 5] ?? 'STK';
    const mult = secType === 'OPT' ? 100 : secType === 'FUT' ? 50 : 1;
    out.push(
      pos({
        conid: 1000 + i,
        symbol: `S${i}`,
        secType,
        quantity: qty,
        avgPrice: avg,
        avgCost: avg * mult,
        marketPrice: price,
        marketValue: qty * price * mult,
        unrealizedPnl: qty * (price - avg) * mult,
        realizedPnl: i % 9 === 0 ? i / 7 : 0,
        currency: i % 4 === 0 ? 'EUR' : 'USD',
        sector: i % 3 === 0 ? 'Technology' : 'Financial',
        ...(mult > 1 ? { multiplier: mult } : {}),
      }),
    );
  }
  return out;
}

const ledger = (id: string, base: string, lines: [string, number][]): Ledger => ({
  accountId: id,
  baseCurrency: base,
  base: { currency: base, cash: 0, exchangeRate: 1 },
  currencies: lines.map(([currency, exchangeRate]) => ({ currency, cash: 1, exchangeRate })),
});

describe('portfolio tool math', () => {
  test('group totals equal the sum of the groups, for every groupBy', () => {
    const positions = book(113);
    for (const by of ['secType', 'currency', 'sector'] as const) {
      const s = summarize('DU1', 'USD', positions, (c) => (c === 'EUR' ? 1.1623 : 1), 1_000_000, 50_000, by, new Set());
      const groups = s.groups ?? [];
      assert.equal(round2(groups.reduce((a, g) => a + (g.value ?? Number.NaN), 0)), s.value, by);
      assert.equal(round2(groups.reduce((a, g) => a + (g.unrealizedPnl ?? Number.NaN), 0)), s.unrealizedPnl, by);
      assert.equal(round2(groups.reduce((a, g) => a + (g.realizedPnl ?? Number.NaN), 0)), s.realizedPnl, by);
      assert.equal(
        groups.reduce((a, g) => a + g.positions, 0),
        positions.length,
        by,
      );
      // And the parts are the positions converted one by one.
      const direct = positions.reduce(
        (a, p) => a + (p.marketValue ?? Number.NaN) * (p.currency === 'EUR' ? 1.1623 : 1),
        0,
      );
      assert.ok(Math.abs(direct - (s.value ?? Number.NaN)) < 0.01 * positions.length, by);
    }
    const none = summarize('DU1', 'USD', positions, () => 1, 1, 0, 'none', new Set());
    assert.equal(none.groups, undefined);
  });

  test('weights are percent of net liquidation', () => {
    const s = summarize(
      'DU1',
      'USD',
      [pos({ marketValue: 250, secType: 'STK' }), pos({ conid: 2, marketValue: 100, secType: 'OPT' })],
      () => 1,
      1000,
      650,
      'secType',
      new Set(),
    );
    assert.deepEqual(
      s.groups?.map((g) => [g.key, g.weightPct]),
      [
        ['STK', 25],
        ['OPT', 10],
      ],
    );
    assert.equal(s.cashPct, 65);
  });

  test('a currency without a rate is reported, not dropped', () => {
    const missing = new Set<string>();
    const s = summarize(
      'DU1',
      'USD',
      [pos({ currency: 'SEK', marketValue: 10 })],
      () => undefined,
      10,
      0,
      'currency',
      missing,
    );
    assert.deepEqual([...missing], ['SEK']);
    assert.equal(s.value, 10);
  });

  test('across accounts: totals are the converted sums, groups merge by key', () => {
    const a = summarize('A', 'USD', book(40), (c) => (c === 'EUR' ? 1.16 : 1), 500_000, 10_000, 'secType', new Set());
    const b = summarize('B', 'EUR', book(17), (c) => (c === 'USD' ? 0.862 : 1), 200_000, 5_000, 'secType', new Set());
    const fx = 1 / 0.862;
    const t = combine(
      [
        { s: a, fx: 1 },
        { s: b, fx },
      ],
      'USD',
      'secType',
    );
    assert.equal(t.positions, 57);
    assert.equal(t.value, round2((t.groups ?? []).reduce((s, g) => s + (g.value ?? Number.NaN), 0)));
    assert.ok(Math.abs((t.value ?? Number.NaN) - ((a.value ?? Number.NaN) + (b.value ?? Number.NaN) * fx)) < 0.05);
    assert.ok(Math.abs(t.netLiquidation - (500_000 + 200_000 * fx)) < 0.01);
    for (const g of t.groups ?? []) {
      const ga = a.groups?.find((x) => x.key === g.key);
      const gb = b.groups?.find((x) => x.key === g.key);
      assert.equal(g.positions, (ga?.positions ?? 0) + (gb?.positions ?? 0));
    }
  });

  test('rates between base currencies come from the ledgers', () => {
    const rates = ratesToCurrency(
      'USD',
      new Map([
        ['A', ledger('A', 'USD', [['EUR', 1.16]])],
        ['B', ledger('B', 'EUR', [['USD', 0.862]])],
        ['C', ledger('C', 'CHF', [])],
      ]),
    );
    assert.equal(rates.get('A'), 1);
    assert.ok(Math.abs((rates.get('B') ?? 0) - 1 / 0.862) < 1e-12);
    assert.equal(rates.get('C'), undefined);
    // Only the other account knows the rate.
    const via = ratesToCurrency(
      'USD',
      new Map([
        ['A', ledger('A', 'USD', [['GBP', 1.33]])],
        ['G', ledger('G', 'GBP', [])],
      ]),
    );
    assert.equal(via.get('G'), 1.33);
  });

  test('positions: sorting, totals by currency over the rounded rows, compact rows', () => {
    const list = book(30);
    const byValue = sortPositions(list, 'value', undefined);
    for (let i = 1; i < byValue.length; i++) {
      assert.ok(Math.abs(byValue[i - 1]!.marketValue ?? Number.NaN) >= Math.abs(byValue[i]!.marketValue ?? Number.NaN));
    }
    const bySymbol = sortPositions(list, 'symbol', undefined).map((p) => p.symbol);
    assert.deepEqual(
      bySymbol,
      [...bySymbol].sort((a, b) => a.localeCompare(b)),
    );
    const worst = sortPositions(list, 'pnl', 'asc')[0]!;
    assert.equal(worst.unrealizedPnl, Math.min(...list.map((p) => p.unrealizedPnl ?? Number.NaN)));
    const rows = list.map((p) => positionOut(p, false));
    const totals = totalsByCurrency(rows);
    for (const t of totals) {
      const mine = rows.filter((r) => r.currency === t.currency);
      assert.equal(t.positions, mine.length);
      assert.equal(t.value, round2(mine.reduce((s, r) => s + (r.value ?? Number.NaN), 0)));
      assert.equal(t.unrealizedPnl, round2(mine.reduce((s, r) => s + (r.unrealizedPnl ?? Number.NaN), 0)));
    }
    const opt = positionOut(
      pos({
        secType: 'OPT',
        symbol: 'AAPL',
        expiry: '2027-01-15',
        strike: 300,
        right: 'C',
        multiplier: 100,
        quantity: -2,
      }),
      true,
    );
    assert.equal(Object.keys(opt)[0], 'account');
    assert.match(positionLine(opt), /^DU1 AAPL 2027-01-15 300C -2 @10 now 11 = 110 USD P&L \+10$/);
    assert.equal(money(1234567.891), '1,234,567.89');
  });
});

describe('positions in several currencies sort by value in one currency (issue 14)', () => {
  test('EUR and USD values are compared at the ledger rate, not as one number', () => {
    const eur = pos({ conid: 1, symbol: 'SAP', currency: 'EUR', marketValue: 1000, unrealizedPnl: 100 });
    const usd = pos({ conid: 2, symbol: 'AAPL', currency: 'USD', marketValue: 1050, unrealizedPnl: 50 });
    assert.deepEqual(
      sortPositions([eur, usd], 'value', undefined).map((p) => p.symbol),
      ['AAPL', 'SAP'],
      'as raw numbers the USD position looks larger',
    );
    const common = positionRates([eur, usd], new Map([['DU1', ledger('DU1', 'USD', [['EUR', 1.1]])]]));
    assert.equal(common?.currency, 'USD');
    assert.deepEqual(
      sortPositions([eur, usd], 'value', undefined, common?.rate).map((p) => p.symbol),
      ['SAP', 'AAPL'],
    );
    // A missing rate: no common currency (the caller sorts natively and says nothing false).
    assert.equal(positionRates([eur, usd], new Map([['DU1', ledger('DU1', 'USD', [])]])), undefined);
  });
});

describe('get_pnl: a P&L IB did not send is missing, not 0 (issue 13)', () => {
  const ledger = (accountId: string): Ledger => ({
    accountId,
    baseCurrency: 'USD',
    base: { currency: 'USD', cash: 1000, exchangeRate: 1 },
    currencies: [{ currency: 'USD', cash: 1000, exchangeRate: 1 }],
  });
  const ctx = (rows: AccountPnl[]) =>
    ({
      signal: new AbortController().signal,
      app: {
        backend: {
          listAccounts: async () => [
            { id: 'DU1', currency: 'USD', paper: true },
            { id: 'DU2', currency: 'USD', paper: true },
          ],
          pnl: async () => rows,
          ledger: async (id: string) => ledger(id),
        },
      },
    }) as never;

  test('no dpl for one account: its daily P&L and the total are absent, the text says n/a', async () => {
    const r = await getPnl.handle(
      { accountId: undefined, allAccounts: true },
      ctx([
        { accountId: 'DU1', dailyPnl: -12.5, unrealizedPnl: 100 },
        { accountId: 'DU2', unrealizedPnl: 50 },
      ]),
    );
    assert.equal(r.accounts[0]?.dailyPnl, -12.5);
    assert.equal(r.accounts[1]?.dailyPnl, undefined);
    assert.equal(r.total?.dailyPnl, undefined, 'a sum with a missing part is no total');
    assert.equal(r.total?.unrealizedPnl, 150);
    assert.match(getPnl.render(r), /Account DU2 \(USD\): today n\/a/);
  });
});

describe("get_pnl: IB's paced P&L feed is awaited a bounded time", () => {
  test('a feed that does not answer: the ledgers answer after 25 s, with a note; daily P&L n/a', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const ctx = {
      signal: new AbortController().signal,
      app: {
        backend: {
          listAccounts: async () => [{ id: 'DU1', currency: 'USD', paper: true }],
          // IB's pacing queue: the feed answers much later (here: never).
          pnl: () => new Promise<AccountPnl[]>(() => {}),
          ledger: async (id: string): Promise<Ledger> => ({
            accountId: id,
            baseCurrency: 'USD',
            base: { currency: 'USD', cash: 1000, exchangeRate: 1, netLiquidation: 5000 },
            currencies: [{ currency: 'USD', cash: 1000, exchangeRate: 1 }],
          }),
        },
      },
    } as never;
    const pending = getPnl.handle({ accountId: undefined }, ctx);
    // Let the handler reach its wait, then pass the bound.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    t.mock.timers.tick(25_000);
    const r = await pending;
    assert.equal(r.accounts[0]?.dailyPnl, undefined);
    assert.equal(r.accounts[0]?.netLiquidation, 5000);
    assert.match(r.note ?? '', /did not answer within 25 s/);
    assert.match(getPnl.render(r), /today n\/a/);
  });
});
