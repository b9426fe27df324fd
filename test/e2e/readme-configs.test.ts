/**
 * The README's real-account configurations, started exactly as written (its args and env), plus
 * only what points IB at local fakes: the gateway download base, a fake `java` on the PATH that runs
 * our simulator as IB's gateway, a Chromium that never finishes starting, and for "your own gateway"
 * a simulator on a free port in place of localhost:5000.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { generateOAuthFiles, OAUTH_FILES, oauthDir, writeOwnerOnly } from '../../src/backends/cpapi/oauth-files.js';
import { startSimulator } from '../../src/simulator/index.js';
import { makeZip } from '../unit/zip-writer.js';
import { CLI, type Harness, startServer } from './harness.js';

const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');

function readmeConfig(name: string): { args: string[]; env: Record<string, string> } {
  const m = new RegExp(`<!-- readme-config: ${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\``).exec(README);
  assert.ok(m, `README has the ${name} configuration`);
  const server = JSON.parse(m[1]!).mcpServers.ibkr as { command: string; args: string[]; env?: Record<string, string> };
  assert.equal(server.command, 'npx');
  assert.deepEqual(server.args.slice(0, 2), ['-y', 'ibkr-mcp']);
  return { args: server.args.slice(2), env: server.env ?? {} };
}

const work = mkdtempSync(join(tmpdir(), 'ibkr-mcp-readme-'));
let dl: Server;
let fakes: Record<string, string>;
before(async () => {
  const zip = makeZip({
    'bin/run.sh': '#!/bin/sh\n',
    'dist/ibgroup.web.core.iblink.router.clientportal.gw.jar': 'jar',
    'build/lib/runtime/vertx-core-3.5.0.jar': 'jar',
    'root/conf.yaml': 'listenPort: 5000\n',
    'root/vertx.jks': 'jks',
  });
  dl = createHttpServer((req, res) => {
    if (req.url?.endsWith('/clientportal.gw.zip')) return void res.writeHead(200).end(zip);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => dl.listen(0, '127.0.0.1', () => r()));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'java'),
    `#!/bin/sh
if [ "$1" = "-version" ]; then echo 'openjdk version "17.0.7" 2023-04-18' >&2; exit 0; fi
CP=""
while [ $# -gt 0 ]; do [ "$1" = "-cp" ] && CP="$2"; shift; done
exec "${process.execPath}" "${CLI}" simulator --gateway-conf "\${CP%%${delimiter}*}/ibkr-mcp-gateway.yaml"
`,
  );
  writeFileSync(join(bin, 'slow-chromium'), '#!/bin/sh\nexec sleep 20\n');
  chmodSync(join(bin, 'java'), 0o755);
  chmodSync(join(bin, 'slow-chromium'), 0o755);
  fakes = {
    PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}`,
    JAVA_HOME: '',
    IBKR_MCP_GATEWAY_DOWNLOAD_BASE: `http://127.0.0.1:${(dl.address() as { port: number }).port}/portal`,
    IBKR_MCP_CHROMIUM_PATH: join(bin, 'slow-chromium'),
    IBKR_MCP_OPEN_BROWSER: 'false',
  };
});
after(() => {
  dl.closeAllConnections();
  dl.close();
  rmSync(work, { recursive: true, force: true });
});

async function settled(h: Harness): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  for (;;) {
    const st = (await h.callTool('get_connection_status', {})).structured;
    if (st.state !== 'gateway_starting' || Date.now() - t0 > 30_000) return st;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function authenticateWithin3s(h: Harness) {
  const t0 = Date.now();
  const r = await h.callTool('authenticate', {});
  const ms = Date.now() - t0;
  assert.ok(ms < 3000, `authenticate answered in ${ms} ms`);
  assert.equal(r.isError, false, r.text);
  return { r, ms };
}

test('README browser login: the managed gateway, started from one setting', { timeout: 60_000 }, async () => {
  const { args, env } = readmeConfig('browser');
  const h = await startServer({ sim: false, backendArgs: [], args, env: { ...env, ...fakes } });
  try {
    const st = await settled(h);
    assert.equal(st['managedGateway'], true, JSON.stringify(st));
    assert.equal(st['loginMethod'], 'browser');
    assert.ok(['authenticated', 'login_required'].includes(String(st['state'])), String(st['state']));
    const { ms } = await authenticateWithin3s(h);
    console.log(`# README browser config: authenticate in ${ms} ms`);
  } finally {
    await h.close();
  }
});

test('README headless login with TOTP: the managed gateway, headless method, no secret shown', {
  timeout: 60_000,
}, async () => {
  const { args, env } = readmeConfig('headless');
  const h = await startServer({ sim: false, backendArgs: [], args, env: { ...env, ...fakes } });
  try {
    const st = await settled(h);
    assert.equal(st['managedGateway'], true, JSON.stringify(st));
    assert.equal(st['loginMethod'], 'headless');
    const { r, ms } = await authenticateWithin3s(h);
    assert.doesNotMatch(JSON.stringify(r.raw), /your_ib_password|YOUR_BASE32_TOTP_SECRET/);
    assert.doesNotMatch(h.stderr(), /your_ib_password|YOUR_BASE32_TOTP_SECRET/);
    console.log(`# README headless config: authenticate in ${ms} ms`);
  } finally {
    await h.close();
  }
});

test('README your own gateway: used as given, never started', { timeout: 60_000 }, async () => {
  const { args, env } = readmeConfig('own-gateway');
  assert.equal(env['IB_GATEWAY_URL'], 'https://localhost:5000');
  const sim = await startSimulator({ port: 0, seed: 7 });
  const url = env['IB_GATEWAY_URL'].replace(':5000', `:${new URL(sim.url).port}`);
  const h = await startServer({ sim: false, backendArgs: [], args, env: { ...env, ...fakes, IB_GATEWAY_URL: url } });
  try {
    const st = await settled(h);
    assert.equal(st['managedGateway'], false);
    assert.equal(st['state'], 'authenticated', JSON.stringify(st));
    const pos = await h.callTool('get_positions', {});
    assert.equal(pos.isError, false, pos.text);
    const { ms } = await authenticateWithin3s(h);
    console.log(`# README own-gateway config: authenticate in ${ms} ms`);
  } finally {
    await h.close();
    await sim.close();
  }
});

test('README OAuth 1.0a: after `oauth setup`, IB_AUTH alone opens the session by itself', {
  timeout: 60_000,
}, async () => {
  const { args, env } = readmeConfig('oauth');
  assert.deepEqual(env, { IB_AUTH: 'oauth' });
  // What `ibkr-mcp oauth setup` leaves in the state directory (the consumer registered at an OAuth
  // simulator standing in for api.ibkr.com, which IB_OAUTH_BASE_URL names: the only addition).
  const home = mkdtempSync(join(work, 'oauth-home-'));
  const dir = oauthDir(home);
  await generateOAuthFiles(dir, { fastDh: true });
  const sim = await startSimulator({ port: 0, seed: 7, oauth: true });
  const creds = sim.oauth!.register({
    signaturePublicKey: readFileSync(join(dir, OAUTH_FILES.signaturePublic), 'utf8'),
    encryptionPublicKey: readFileSync(join(dir, OAUTH_FILES.encryptionPublic), 'utf8'),
    dhParams: readFileSync(join(dir, OAUTH_FILES.dhParams), 'utf8'),
  });
  writeOwnerOnly(join(dir, OAUTH_FILES.credentials), JSON.stringify(creds));
  const h = await startServer({
    sim: false,
    backendArgs: [],
    args,
    env: { ...env, ...fakes, IBKR_MCP_HOME: home, IB_OAUTH_BASE_URL: sim.apiBase },
  });
  try {
    const st = await settled(h);
    assert.equal(st['loginMethod'], 'oauth');
    assert.equal(st['managedGateway'], false);
    const pos = await h.callTool('get_positions', {});
    assert.equal(pos.isError, false, pos.text);
    assert.equal((await h.callTool('get_connection_status', {})).structured.state, 'authenticated');
    assert.doesNotMatch(`${h.stderr()}${JSON.stringify(pos.raw)}`, new RegExp(creds.accessToken));
  } finally {
    await h.close();
    await sim.close();
  }
});
