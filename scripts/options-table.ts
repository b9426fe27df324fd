// Prints the README's options table from src/config/options.ts: `node --import tsx scripts/options-table.ts`.
import { OPTIONS } from '../src/config/options.js';

const rows = ['| Flag | Environment | Default | What it does |', '| --- | --- | --- | --- |'];
for (const o of OPTIONS) {
  const def =
    o.default === undefined || o.secret || (Array.isArray(o.default) && o.default.length === 0)
      ? ''
      : `\`${Array.isArray(o.default) ? o.default.join(',') : String(o.default)}\``;
  const values = o.values ? ` (${o.values.join(' \\| ')})` : '';
  rows.push(
    `| \`--${o.flag}\` | ${o.env.map((e) => `\`${e}\``).join(', ')} | ${def} | ${o.description.replace(/\|/g, '\\|')}${values} |`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
