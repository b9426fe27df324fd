import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseAccounts,
  parseAllocation,
  parseLedger,
  parsePnl,
  parsePosition,
  parseSummary,
} from '../../src/backends/cpapi/portfolio.js';

// Payloads below are in the shape of IB's published examples (docs/ib/endpoints.md §3, §6).

describe('cpapi portfolio parsers', () => {
  test('/portfolio/accounts: id, title, currency, paper from DU prefix or DEMO type', () => {
    const list = parseAccounts([
      {
        id: 'DU123456',
        accountId: 'DU123456',
        accountVan: 'DU123456',
        accountTitle: 'John Smith, LLC',
        displayName: 'John Smith, LLC',
        accountAlias: null,
        accountStatus: 1590724800000,
        currency: 'USD',
        type: 'DEMO',
        tradingType: 'STKNOPT',
        desc: 'DU123456',
      },
      { id: 'U7654321', accountId: 'U7654321', currency: 'chf', type: 'INDIVIDUAL', accountTitle: 'U7654321' },
      { nothing: true },
    ]);
    assert.deepEqual(list, [
      { id: 'DU123456', currency: 'USD', paper: true, title: 'John Smith, LLC', type: 'DEMO', tradingType: 'STKNOPT' },
      { id: 'U7654321', currency: 'CHF', paper: false, type: 'INDIVIDUAL' },
    ]);
    assert.deepEqual(parseAccounts({ error: 'x' }), []);
  });

  test('/summary: account-wide tags by amount, cushion and day trades from value, -c/-s ignored', () => {
    const t = (amount: number, value: string | null = null, currency: string | null = 'USD') => ({
      amount,
      currency,
      isNull: false,
      severity: 0,
      timestamp: 1712156105000,
      value,
    });
    const b = parseSummary(
      'DU123456',
      {
        accountcode: t(0, 'DU123456', null),
        availablefunds: t(205266944.0),
        'availablefunds-c': t(468839.75),
        'availablefunds-s': t(204798112.0),
        buyingpower: t(821079744.0),
        cushion: t(0, '0.994598', null),
        daytradesremaining: t(0, '-1', null),
        netliquidation: t(206000000.5),
        'netliquidation-s': t(1),
        totalcashvalue: t(205000000),
        excessliquidity: t(205300432.0),
        maintmarginreq: t(100),
        initmarginreq: { ...t(0), isNull: true },
      },
      'EUR',
    );
    assert.deepEqual(b, {
      accountId: 'DU123456',
      currency: 'USD',
      netLiquidation: 206000000.5,
      totalCash: 205000000,
      buyingPower: 821079744,
      availableFunds: 205266944,
      excessLiquidity: 205300432,
      maintMargin: 100,
      cushion: 0.994598,
    });
    const small = parseSummary('DU1', { daytradesremaining: t(0, '3', null), NetLiquidation: t(20000) }, 'USD');
    assert.equal(small.dayTradesRemaining, 3);
    assert.equal(small.netLiquidation, 20000);
  });

  test('/ledger: currencies plus BASE, base currency first', () => {
    const entry = (currency: string, cash: number, rate: number) => ({
      acctcode: 'DU5240685',
      cashbalance: cash,
      currency,
      exchangerate: rate,
      netliquidationvalue: cash * 2,
      realizedpnl: 0.0,
      unrealizedpnl: 154673.2,
      stockmarketvalue: 1202347.1,
      stockoptionmarketvalue: 906.95,
      futuremarketvalue: 2750.1,
      secondkey: currency,
      timestamp: 1754948718,
    });
    const l = parseLedger(
      'DU5240685',
      {
        AUD: entry('AUD', 223911.11, 0.650378),
        BASE: entry('BASE', 218093824.0, 1),
        USD: entry('USD', 213375440.0, 1),
      },
      'USD',
    );
    assert.equal(l.baseCurrency, 'USD');
    assert.deepEqual(
      l.currencies.map((c) => [c.currency, c.cash, c.exchangeRate]),
      [
        ['USD', 213375440, 1],
        ['AUD', 223911.11, 0.650378],
      ],
    );
    assert.equal(l.base.currency, 'USD');
    assert.equal(l.base.cash, 218093824);
    assert.equal(l.base.optionValue, 906.95);
    assert.equal(l.base.futureValue, 2750.1);
  });

  test('positions rows: stock multiplier 0.0 means 1, option fields, YYYYMMDD expiry', () => {
    const ibm = parsePosition('DU123456', {
      acctId: 'DU123456',
      conid: 8314,
      contractDesc: 'IBM',
      position: 1412.0,
      mktPrice: 185.17599485,
      mktValue: 261468.5,
      currency: 'USD',
      avgCost: 144.46141,
      avgPrice: 144.46141,
      realizedPnl: 0.0,
      unrealizedPnl: 57488.99,
      expiry: null,
      putOrCall: null,
      multiplier: 0.0,
      strike: '0',
      assetClass: 'STK',
      undConid: 0,
      listingExchange: 'NYSE',
      name: 'INTL BUSINESS MACHINES CORP',
      group: 'Computers',
      sector: 'Technology',
      ticker: 'IBM',
      type: 'COMMON',
      pageSize: 100,
    });
    assert.deepEqual(ibm, {
      accountId: 'DU123456',
      conid: 8314,
      symbol: 'IBM',
      secType: 'STK',
      quantity: 1412,
      avgCost: 144.46141,
      avgPrice: 144.46141,
      marketPrice: 185.17599485,
      marketValue: 261468.5,
      unrealizedPnl: 57488.99,
      realizedPnl: 0,
      currency: 'USD',
      description: 'IBM',
      name: 'INTL BUSINESS MACHINES CORP',
      listingExchange: 'NYSE',
      sector: 'Technology',
      group: 'Computers',
      type: 'COMMON',
    });
    const opt = parsePosition('DU1', {
      conid: 123,
      contractDesc: 'SPY JAN2025 440 C [SPY 250117C00440000 100]',
      position: -2,
      mktPrice: '3.5',
      avgCost: 412.3,
      assetClass: 'OPT',
      expiry: '20250117',
      putOrCall: 'C',
      strike: '440',
      multiplier: 100.0,
      undConid: 756733,
      undSym: 'SPY',
    });
    assert.equal(opt?.symbol, 'SPY');
    assert.equal(opt?.expiry, '2025-01-17');
    assert.equal(opt?.strike, 440);
    assert.equal(opt?.right, 'C');
    assert.equal(opt?.multiplier, 100);
    assert.equal(opt?.avgPrice, 4.123);
    assert.equal(opt?.marketValue, -700);
    assert.equal(opt?.underlyingConid, 756733);
    assert.equal(parsePosition('DU1', { contractDesc: 'no conid' }), undefined);
  });

  test('partitioned P&L: empty first answer, rows keyed "<acct>.Core"', () => {
    assert.deepEqual(parsePnl({ upnl: {} }), []);
    assert.deepEqual(
      parsePnl({
        upnl: {
          'U1234567.Core': { rowType: 1, dpl: -12510.0, nl: 1290000.0, upl: 256000.0, el: 824600.0, mv: 1700000.0 },
        },
      }),
      [
        {
          accountId: 'U1234567',
          dailyPnl: -12510,
          unrealizedPnl: 256000,
          netLiquidation: 1290000,
          excessLiquidity: 824600,
          marketValue: 1700000,
        },
      ],
    );
  });

  test('allocation', () => {
    const a = parseAllocation('DU1', {
      assetClass: { long: { STK: 1564447.62, OPT: 44352.82, CASH: 72425.69 }, short: { STK: -103716.11 } },
      sector: { long: { Technology: 309264.47 }, short: {} },
      group: { long: { Computers: 279285.37 }, short: { Semiconductors: -87162.0 } },
    });
    assert.equal(a.assetClass.long['OPT'], 44352.82);
    assert.equal(a.group.short['Semiconductors'], -87162);
  });
});
