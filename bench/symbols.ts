/** The 50 large US stocks the benchmark quotes (all in the simulator's universe). */
// biome-ignore format: a table reads better in rows of ten
export const SP50 = [
  'AAPL', 'MSFT', 'AMZN', 'GOOGL', 'META', 'NVDA', 'TSLA', 'JPM', 'V', 'MA',
  'UNH', 'HD', 'PG', 'JNJ', 'XOM', 'CVX', 'KO', 'PEP', 'WMT', 'COST',
  'ABBV', 'MRK', 'PFE', 'LLY', 'BAC', 'WFC', 'C', 'GS', 'MS', 'AXP',
  'INTC', 'AMD', 'QCOM', 'TXN', 'AVGO', 'ORCL', 'CSCO', 'IBM', 'ADBE', 'CRM',
  'NFLX', 'DIS', 'NKE', 'MCD', 'SBUX', 'BA', 'CAT', 'GE', 'HON', 'MMM',
];
