/**
 * Flex statement parsing speed: an Activity Flex answer with 10,000 executions (each with the 27
 * attributes the simulator writes, as IB's Trade rows carry), read into rows by the client's
 * parser (src/backends/flex/statement.ts) and summarised. Five runs after one warm-up; prints the
 * median and the slowest. Target (issue 19): under 1 s.
 *
 *   node --import tsx bench/flex-parse.ts [trades]
 */
import { parseFlexAnswer } from '../src/backends/flex/statement.js';
import { summarizeAccount } from '../src/broker/statement-summary.js';

const N = Number(process.argv[2] ?? 10_000);
const symbols = ['AAPL', 'MSFT', 'AMZN', 'NVDA', 'GOOGL', 'META', 'TSLA', 'BRK B', 'JPM', 'V'];
const rows: string[] = [];
for (let i = 0; i < N; i++) {
  const sym = symbols[i % symbols.length] as string;
  const day = new Date(Date.UTC(2025, 0, 2) + Math.floor(i / 40) * 86_400_000)
    .toISOString()
    .slice(0, 10)
    .replace(/-/g, '');
  const buy = i % 3 !== 2;
  const qty = buy ? 10 + (i % 90) : -(5 + (i % 40));
  const price = (100 + (i % 500) / 7).toFixed(2);
  rows.push(
    `<Trade accountId="U1234567" currency="USD" assetCategory="STK" symbol="${sym}" description="${sym} INC &amp; CO" conid="${265598 + (i % 10)}" listingExchange="NASDAQ" multiplier="1" tradeID="${400000000 + i}" reportDate="${day}" dateTime="${day};${String(93000 + (i % 60000)).padStart(6, '0')}" tradeDate="${day}" settleDateTarget="${day}" transactionType="ExchTrade" exchange="NASDAQ" quantity="${qty}" tradePrice="${price}" tradeMoney="${(qty * Number(price)).toFixed(2)}" proceeds="${(-qty * Number(price)).toFixed(2)}" ibCommission="-1" ibCommissionCurrency="USD" netCash="${(-qty * Number(price) - 1).toFixed(2)}" fifoPnlRealized="${buy ? 0 : (i % 13) - 6}" buySell="${buy ? 'BUY' : 'SELL'}" openCloseIndicator="${buy ? 'O' : 'C'}" orderType="LMT" levelOfDetail="EXECUTION" />`,
  );
}
const xml = `<FlexQueryResponse queryName="Activity" type="AF">\n<FlexStatements count="1">\n<FlexStatement accountId="U1234567" fromDate="20250101" toDate="20251231" period="" whenGenerated="20260102;093000">\n<Trades>\n${rows.join('\n')}\n</Trades>\n</FlexStatement>\n</FlexStatements>\n</FlexQueryResponse>\n`;

function once(): number {
  const t0 = performance.now();
  const a = parseFlexAnswer(xml);
  if (a.kind !== 'statement') throw new Error('not a statement');
  const acct = a.statement.accounts[0];
  if (acct?.trades.length !== N) throw new Error(`parsed ${acct?.trades.length} trades, expected ${N}`);
  summarizeAccount(acct);
  return performance.now() - t0;
}

once();
const times = Array.from({ length: 5 }, once).sort((a, b) => a - b);
const mb = (Buffer.byteLength(xml) / 1e6).toFixed(1);
process.stdout.write(
  `flex parse: ${N} trades, ${mb} MB of XML: median ${times[2]?.toFixed(0)} ms, slowest ${times[4]?.toFixed(0)} ms (target < 1000 ms; node ${process.version})\n`,
);
