/**
 * The .mcpb bundle (scripts/bundle-mcpb.mjs) runs on its own: built into a temporary folder,
 * unpacked, started with node as Claude Desktop starts it (the manifest's command, args and env,
 * settings left blank), it answers over stdio with the default tool set, using nothing from the
 * repository's node_modules. Needs `npm run build` and the npm registry (or a warm npm cache).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { loadConfig } from '../../src/config/index.js';
import { selectTools } from '../../src/mcp/registry.js';
import { ENABLE_TOOLSET } from '../../src/mcp/toolsets.js';
import { ALL_TOOLS } from '../../src/tools/index.js';

const REPO = resolve(import.meta.dirname, '../..');
// biome-ignore lint/suspicious/noTemplateCurlyInString: the host's placeholder for the unpacked folder
const HOST_DIRNAME = '${__dirname}';

/** Unpacks a zip (stored or deflated entries, as the bundle writes them); returns the names. */
function unzip(archive: Buffer, into: string): string[] {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'no end of central directory');
  const count = archive.readUInt16LE(end + 10);
  let p = archive.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(archive.readUInt32LE(p), 0x02014b50, 'central directory entry');
    const method = archive.readUInt16LE(p + 10);
    const size = archive.readUInt32LE(p + 20);
    const nameLen = archive.readUInt16LE(p + 28);
    const skip = archive.readUInt16LE(p + 30) + archive.readUInt16LE(p + 32);
    const local = archive.readUInt32LE(p + 42);
    const name = archive.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + skip;
    assert.ok(!name.startsWith('/') && !name.split('/').includes('..'), `unsafe name ${name}`);
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const body = archive.subarray(start, start + size);
    const data = method === 8 ? inflateRawSync(body) : body;
    mkdirSync(dirname(join(into, name)), { recursive: true });
    writeFileSync(join(into, name), data);
    names.push(name);
  }
  return names;
}

interface Manifest {
  manifest_version: string;
  name: string;
  version: string;
  server: {
    type: string;
    entry_point: string;
    mcp_config: { command: string; args: string[]; env: Record<string, string> };
  };
  user_config: Record<string, { type: string; default?: string | boolean; sensitive?: boolean }>;
}

test('the .mcpb bundle unpacks and serves the default tools over stdio', { timeout: 90_000 }, async () => {
  assert.ok(existsSync(join(REPO, 'dist/cli.js')), 'run `npm run build` first');
  const tmp = mkdtempSync(join(tmpdir(), 'ibkr-mcp-mcpb-'));
  try {
    const file = join(tmp, 'ibkr-mcp.mcpb');
    await promisify(execFile)(process.execPath, [join(REPO, 'scripts/bundle-mcpb.mjs'), '--out', file], {
      cwd: REPO,
      timeout: 60_000,
    });
    const dir = join(tmp, 'unpacked');
    const names = unzip(readFileSync(file), dir);
    for (const f of ['manifest.json', 'package.json', 'README.md', 'dist/cli.js']) assert.ok(names.includes(f), f);
    assert.ok(names.some((n) => n.startsWith('node_modules/@modelcontextprotocol/server/')));
    assert.ok(!names.some((n) => n.startsWith('node_modules/typescript/')), 'dev dependencies stay out');
    // What an npm install fetches on first use is in the bundle (Claude Desktop's Node has no npm).
    for (const p of ['node_modules/@resvg/resvg-js/index.js', 'node_modules/playwright-core/cli.js'])
      assert.ok(names.includes(p), p);

    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.name, 'ibkr-mcp');
    assert.equal(manifest.version, pkg.version);
    assert.equal(manifest.server.type, 'node');
    assert.equal(manifest.server.entry_point, 'dist/cli.js');
    assert.deepEqual(manifest.server.mcp_config.args, [`${HOST_DIRNAME}/dist/cli.js`]);
    const env = manifest.server.mcp_config.env;
    for (const secret of ['IB_PASSWORD_AUTH', 'IB_TOTP_SECRET']) {
      const key = /^\$\{user_config\.(.+)\}$/.exec(env[secret] ?? '')?.[1];
      assert.ok(key && manifest.user_config[key]?.sensitive === true, `${secret} is a sensitive setting`);
    }

    // What Claude Desktop launches: ${__dirname} is the unpacked folder, a setting with a default
    // gets it, a blank one without a default stays the literal placeholder.
    const launchEnv: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
      const key = /^\$\{user_config\.(.+)\}$/.exec(value)?.[1];
      const def = key === undefined ? undefined : manifest.user_config[key]?.default;
      launchEnv[name] = def === undefined ? value : String(def);
    }
    const home = join(tmp, 'home');
    mkdirSync(home);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: manifest.server.mcp_config.args.map((a) => a.replace(HOST_DIRNAME, dir)),
      env: {
        ...getDefaultEnvironment(),
        HOME: home,
        USERPROFILE: home,
        IBKR_MCP_HOME: join(home, '.ibkr-mcp'),
        ...launchEnv,
      },
      cwd: home,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const client = new Client({ name: 'ibkr-mcp-bundle-test', version: '1.0.0' });
    try {
      await client.connect(transport);
      const { tools } = await client.listTools();
      const expected = [
        ...selectTools(ALL_TOOLS, loadConfig([], { HOME: home }).config).map((t) => t.name),
        ENABLE_TOOLSET,
      ];
      assert.deepEqual(tools.map((t) => t.name).sort(), expected.sort(), stderr);
    } finally {
      await client.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
