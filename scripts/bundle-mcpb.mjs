// `npm run bundle`: builds ibkr-mcp.mcpb, an MCP Bundle (https://github.com/modelcontextprotocol/mcpb)
// that Claude Desktop installs with one click. The bundle is a zip of manifest.json, package.json,
// README.md, dist/ and the production node_modules, installed from package-lock.json into a
// temporary folder (the repository's own node_modules, with its dev tools, is never read).
//
//   node scripts/bundle-mcpb.mjs [--out FILE] [--node-modules DIR]
//
// --node-modules reuses a folder that already holds a production install (skips npm install).
// Needs a build first (dist/cli.js). The optional packages that an npm install fetches on first use
// (resvg for charts, playwright-core for headless login) are in the bundle; resvg's native part is
// that of the platform that builds the bundle, so the manifest names that platform only.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { crc32, deflateRawSync } from 'node:zlib';

const ROOT = resolve(import.meta.dirname, '..');
// biome-ignore lint/suspicious/noTemplateCurlyInString: the host's placeholder for the unpacked folder
const HOST_DIRNAME = '${__dirname}';

/** manifest.json key, environment variable, title; descriptions come from the option table. */
const SETTINGS = [
  ['backend', 'IB_BACKEND', 'Backend (sim or gateway)'],
  ['gateway_url', 'IB_GATEWAY_URL', 'Gateway URL'],
  ['gateway_insecure_tls', 'IB_GATEWAY_INSECURE_TLS', 'Accept a self-signed remote gateway'],
  ['ib_username', 'IB_USERNAME', 'IB username'],
  ['ib_password', 'IB_PASSWORD_AUTH', 'IB password'],
  ['ib_totp_secret', 'IB_TOTP_SECRET', 'IB TOTP secret'],
  ['ib_headless_mode', 'IB_HEADLESS_MODE', 'Headless login'],
  ['ib_paper_trading', 'IB_PAPER_TRADING', 'Paper-trading login'],
  ['read_only', 'IB_READ_ONLY_MODE', 'Read-only (no order tools)'],
  ['allow_live_trading', 'IB_ALLOW_LIVE_TRADING', 'Allow live trading'],
  ['toolsets', 'IBKR_MCP_TOOLSETS', 'Tool sets'],
];

/** The manifest for a package.json and the option table (OPTIONS of src/config/options.ts). */
export function buildManifest(pkg, options) {
  const userConfig = {};
  const env = {};
  for (const [key, envName, title] of SETTINGS) {
    const o = options.find((x) => x.env.includes(envName));
    if (!o) throw new Error(`no option reads ${envName}`);
    const entry = {
      type: o.type === 'boolean' ? 'boolean' : 'string',
      title,
      description: o.values ? `${o.description} (${o.values.join(' or ')})` : o.description,
      required: false,
    };
    if (o.secret) entry.sensitive = true;
    else if (o.type === 'boolean') entry.default = o.default === true;
    else if (o.type === 'list' && Array.isArray(o.default)) entry.default = o.default.join(',');
    userConfig[key] = entry;
    env[envName] = `\${user_config.${key}}`;
  }
  return {
    manifest_version: '0.3',
    name: pkg.name,
    display_name: 'Interactive Brokers (ibkr-mcp)',
    version: pkg.version,
    description: pkg.description,
    author: { name: 'ibkr-mcp' },
    repository: { type: 'git', url: 'https://github.com/ibkr-mcp/ibkr-mcp' },
    license: pkg.license,
    keywords: pkg.keywords,
    server: {
      type: 'node',
      entry_point: 'dist/cli.js',
      mcp_config: { command: 'node', args: [`${HOST_DIRNAME}/dist/cli.js`], env },
    },
    tools_generated: true,
    user_config: userConfig,
    compatibility: {
      platforms: [process.platform],
      runtimes: { node: pkg.engines.node },
    },
  };
}

/** Every file under dir (relative, '/'-separated), skipping symlinks (node_modules/.bin). */
function walk(dir, base = dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, base, out);
    else if (e.isFile()) out.push(relative(base, p).split(sep).join('/'));
  }
  return out;
}

/** Type declarations and source maps are not needed to run. */
const wanted = (name) => !/\.(d\.[cm]?ts|map)$/.test(name);

/**
 * A zip archive (deflate or stored, UTF-8 names, unix modes, one fixed date so the same input
 * gives the same bytes). entries: [name, Buffer, mode][].
 */
export function zip(entries) {
  if (entries.length > 0xffff) throw new Error('more than 65535 files: zip64 is not written');
  const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1; // 2020-01-01 00:00
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [rawName, data, mode] of entries) {
    const name = Buffer.from(rawName, 'utf8');
    const deflated = deflateRawSync(data, { level: 9 });
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const crc = crc32(data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(0x0800, 6);
    head.writeUInt16LE(stored ? 0 : 8, 8);
    head.writeUInt16LE(0, 10);
    head.writeUInt16LE(DOS_DATE, 12);
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(body.length, 18);
    head.writeUInt32LE(data.length, 22);
    head.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE((3 << 8) | 20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(stored ? 0 : 8, 10);
    dir.writeUInt16LE(DOS_DATE, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38);
    dir.writeUInt32LE(offset, 42);
    parts.push(head, name, body);
    central.push(dir, name);
    offset += head.length + name.length + body.length;
    if (offset > 0xffffffff) throw new Error('archive over 4 GB: zip64 is not written');
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

/**
 * The package.json the bundle is installed from: the optional peer dependencies (chart renderer,
 * headless browser driver), which an npm install fetches on first use, become dependencies, so the
 * bundle works without npm (Claude Desktop's own Node has none).
 */
export function bundlePackageJson(pkg) {
  const optional = Object.keys(pkg.peerDependenciesMeta ?? {}).filter((n) => pkg.peerDependenciesMeta[n].optional);
  const dependencies = { ...pkg.dependencies };
  const devDependencies = { ...pkg.devDependencies };
  for (const n of optional) {
    dependencies[n] = pkg.peerDependencies[n];
    delete devDependencies[n];
  }
  return { ...pkg, dependencies, devDependencies };
}

function installProduction() {
  const dir = mkdtempSync(join(tmpdir(), 'ibkr-mcp-bundle-'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(bundlePackageJson(pkg), null, 2)}\n`);
  copyFileSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(
    npm,
    ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', dir],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' },
  );
  return dir;
}

async function main() {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, 'node-modules': { type: 'string' } },
  });
  const out = resolve(values.out ?? join(ROOT, 'ibkr-mcp.mcpb'));
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const { OPTIONS } = await import(new URL('../dist/index.js', import.meta.url).href);
  const manifest = buildManifest(pkg, OPTIONS);

  const prodRoot = values['node-modules'] ? resolve(values['node-modules'], '..') : installProduction();
  const ownInstall = !values['node-modules'];
  try {
    const entries = [
      ['manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0o644],
      ['package.json', readFileSync(join(ROOT, 'package.json')), 0o644],
      ['README.md', readFileSync(join(ROOT, 'README.md')), 0o644],
    ];
    for (const f of walk(join(ROOT, 'dist')).filter(wanted).sort()) {
      entries.push([`dist/${f}`, readFileSync(join(ROOT, 'dist', f)), f === 'cli.js' ? 0o755 : 0o644]);
    }
    const nm = join(prodRoot, 'node_modules');
    for (const f of walk(nm).filter(wanted).sort()) {
      const p = join(nm, f);
      entries.push([`node_modules/${f}`, readFileSync(p), statSync(p).mode & 0o111 ? 0o755 : 0o644]);
    }
    const bytes = zip(entries);
    writeFileSync(out, bytes);
    const mb = (bytes.length / 1e6).toFixed(1);
    process.stdout.write(`${relative(process.cwd(), out) || out}: ${entries.length} files, ${mb} MB\n`);
  } finally {
    if (ownInstall) rmSync(prodRoot, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    process.stderr.write(`bundle-mcpb: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
