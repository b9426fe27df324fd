// What `npm run docs` writes, computed from the code: the README's options table (from
// src/config/options.ts) and tool table (from the tool registry, src/tools/index.ts), and
// server.json's versions (from package.json). test/unit/docs.test.ts checks that the files in
// the repository are what these functions make of them.
import { OPTIONS } from '../src/config/options.js';
import { VERSION } from '../src/config/version.js';
import { ENABLE_TOOLSET } from '../src/mcp/toolsets.js';
import { ALL_TOOLS, type ToolKind } from '../src/tools/index.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function optionsTable(): string {
  const rows = ['| Flag | Environment | Default | What it does |', '| --- | --- | --- | --- |'];
  for (const o of OPTIONS) {
    const def =
      o.default === undefined || o.secret || (Array.isArray(o.default) && o.default.length === 0)
        ? ''
        : `\`${Array.isArray(o.default) ? o.default.join(',') : String(o.default)}\``;
    const values = o.values ? ` (${o.values.join(' \\| ')})` : '';
    rows.push(
      `| \`--${o.flag}\` | ${o.env.map((e) => `\`${e}\``).join(', ')} | ${def} | ${cell(o.description)}${values} |`,
    );
  }
  return `${rows.join('\n')}\n`;
}

const KIND: Record<ToolKind, string> = { read: 'R', write: 'W', destructive: 'D' };

/** The first sentence of a tool's description: what the model reads first. */
function firstSentence(text: string): string {
  const m = /^(.+?[.!?])(\s|$)/s.exec(text);
  return (m?.[1] ?? text).replace(/\s+/g, ' ');
}

export function toolsTable(): string {
  const rows = ['| Tool | Set | | What it does |', '| --- | --- | --- | --- |'];
  for (const t of ALL_TOOLS) {
    rows.push(`| \`${t.name}\` | ${t.toolset} | ${KIND[t.kind]} | ${cell(firstSentence(t.description))} |`);
  }
  rows.push(
    `| \`${ENABLE_TOOLSET}\` | | | Switches on a tool set that is off (listed only when one is); the client is told with list_changed. |`,
  );
  return `${rows.join('\n')}\n`;
}

/** Replaces what lies between `<!-- name:start -->` and `<!-- name:end -->`. */
function between(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README.md lacks the ${name} markers`);
  return `${text.slice(0, i + start.length)}\n${content}${text.slice(j)}`;
}

export function renderReadme(readme: string): string {
  return between(between(readme, 'options', optionsTable()), 'tools', toolsTable());
}

/** server.json with the version of package.json, for itself and its npm package (its layout kept). */
export function renderServerJson(text: string): string {
  JSON.parse(text);
  return text.replace(/("version":\s*)"[^"]*"/g, `$1${JSON.stringify(VERSION)}`);
}
