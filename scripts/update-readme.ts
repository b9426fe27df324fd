// Rewrites the options table in README.md between its markers: `npm run docs`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const table = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/options-table.ts'], { encoding: 'utf8' });
const readme = readFileSync('README.md', 'utf8');
const start = '<!-- options:start -->';
const end = '<!-- options:end -->';
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < 0) throw new Error('README.md lacks the options markers');
writeFileSync('README.md', `${readme.slice(0, i + start.length)}\n${table}${readme.slice(j)}`);
