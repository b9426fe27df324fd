import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  ConfigError,
  commandFor,
  helpText,
  loadConfig,
  OPTIONS,
  publicConfig,
  TOOLSETS,
} from '../../src/config/index.js';
import { loadSimulatorArgs } from '../../src/config/simulator.js';

const env = (e: Record<string, string> = {}) => ({ HOME: '/tmp/h', ...e }) as NodeJS.ProcessEnv;

test('defaults: simulator backend, 15 s timeout, home under ~', () => {
  const { config } = loadConfig([], env());
  assert.equal(config.backend, 'sim');
  assert.equal(config.requestTimeoutMs, 15000);
  assert.equal(config.gatewayUrl, 'https://localhost:5000');
  assert.ok(config.home.endsWith('.ibkr-mcp'));
  assert.deepEqual(config.toolsets, ['marketdata', 'options', 'account', 'orders', 'session']);
  // 'default' leaves out the chart, alerts and research sets; 'all' is every set.
  assert.deepEqual(loadConfig(['--toolsets', 'all'], env()).config.toolsets, [...TOOLSETS]);
  assert.ok(TOOLSETS.includes('alerts') && TOOLSETS.includes('research'));
  assert.deepEqual(loadConfig(['--toolsets', 'default,chart'], env()).config.toolsets, [
    'marketdata',
    'chart',
    'options',
    'account',
    'orders',
    'session',
  ]);
});

test('flags win over environment, environment over defaults', () => {
  const e = env({ IB_REQUEST_TIMEOUT_MS: '2000', IB_GATEWAY_URL: 'https://127.0.0.1:5001' });
  assert.equal(loadConfig([], e).config.requestTimeoutMs, 2000);
  assert.equal(loadConfig(['--request-timeout-ms', '3000'], e).config.requestTimeoutMs, 3000);
  assert.equal(loadConfig(['--request-timeout-ms=4000'], e).config.requestTimeoutMs, 4000);
  assert.equal(loadConfig([], e).sources['requestTimeoutMs'], 'IB_REQUEST_TIMEOUT_MS');
});

test('original product names are honoured exactly', () => {
  const { config } = loadConfig(
    ['--ib-username=alice', '--ib-headless-mode', '--ib-paper-trading', 'true', '--ib-auth-timeout', '90'],
    env({ IB_PASSWORD_AUTH: 'pw-secret-1' }),
  );
  assert.equal(config.ibUsername, 'alice');
  assert.equal(config.ibPasswordAuth, 'pw-secret-1');
  assert.equal(config.ibHeadlessMode, true);
  assert.equal(config.ibPaperTrading, true);
  assert.equal(config.ibAuthTimeout, 90);
  const fromEnv = loadConfig(
    [],
    env({ IB_USERNAME: 'bob', IB_HEADLESS_MODE: 'true', IB_PAPER_TRADING: 'false', IB_AUTH_TIMEOUT: '30' }),
  ).config;
  assert.equal(fromEnv.ibUsername, 'bob');
  assert.equal(fromEnv.ibHeadlessMode, true);
  assert.equal(fromEnv.ibPaperTrading, false);
  assert.equal(fromEnv.ibAuthTimeout, 30);
});

test('any gateway or login setting selects the gateway backend; explicit backend wins', () => {
  assert.equal(loadConfig([], env({ IB_USERNAME: 'x' })).config.backend, 'gateway');
  assert.equal(loadConfig([], env({ IB_GATEWAY_URL: 'https://localhost:5000' })).config.backend, 'gateway');
  assert.equal(loadConfig(['--gateway-url', 'https://localhost:5001'], env()).config.backend, 'gateway');
  assert.equal(loadConfig(['--backend', 'sim'], env({ IB_USERNAME: 'x' })).config.backend, 'sim');
  assert.equal(loadConfig([], env({ IB_BACKEND: 'gateway' })).config.backend, 'gateway');
});

test('IB_GATEWAY_HOST / IB_GATEWAY_PORT of the original product build the URL', () => {
  const { config } = loadConfig([], env({ IB_GATEWAY_HOST: '127.0.0.1', IB_GATEWAY_PORT: '5002' }));
  assert.equal(config.gatewayUrl, 'https://127.0.0.1:5002');
  assert.equal(config.backend, 'gateway');
  assert.equal(loadConfig(['--gateway-url', 'https://h:1/v1/api/'], env()).config.gatewayUrl, 'https://h:1');
});

test('unknown flags and malformed values are errors that name the flag', () => {
  assert.throws(
    () => loadConfig(['--nope'], env()),
    (e: unknown) => e instanceof ConfigError && /--nope/.test(e.message),
  );
  assert.throws(
    () => loadConfig(['--request-timeout-ms', 'soon'], env()),
    (e: unknown) => e instanceof ConfigError && /--request-timeout-ms/.test(e.message),
  );
  assert.throws(
    () => loadConfig([], env({ IB_REQUEST_TIMEOUT_MS: '1.5' })),
    (e: unknown) => e instanceof ConfigError && /IB_REQUEST_TIMEOUT_MS/.test(e.message),
  );
  assert.throws(
    () => loadConfig(['--backend', 'tws'], env()),
    (e: unknown) => e instanceof ConfigError && /--backend/.test(e.message),
  );
  assert.throws(() => loadConfig(['--ib-headless-mode=maybe'], env()), /--ib-headless-mode/);
  assert.throws(() => loadConfig(['--gateway-url', 'ftp://x'], env()), /--gateway-url/);
  assert.throws(() => loadConfig(['--toolsets', 'marketdata,nuclear'], env()), /nuclear/);
  assert.throws(() => loadConfig(['--request-timeout-ms'], env()), /needs a value/);
});

test('secrets never appear in errors, --help or the printable config', () => {
  const secret = 'hunter2-very-secret';
  const { config } = loadConfig(['--ib-password-auth', secret], env({ IB_TOTP_SECRET: 'JBSWY3DPEHPK3PXP' }));
  const printed = JSON.stringify(publicConfig(config));
  assert.ok(!printed.includes(secret));
  assert.ok(!printed.includes('JBSWY3DPEHPK3PXP'));
  assert.ok(!helpText().includes(secret));
  // A malformed secret-typed value is not echoed either.
  try {
    loadConfig(['--ib-password-auth'], env());
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
  }
});

test('--help lists every option with its environment variable', () => {
  const help = helpText();
  for (const o of OPTIONS) {
    assert.ok(help.includes(`--${o.flag}`), `--${o.flag} missing from --help`);
    for (const e of o.env) assert.ok(help.includes(e), `${e} missing from --help`);
  }
});

test('README documents every option (the options table stays complete)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const o of OPTIONS) {
    assert.ok(readme.includes(`--${o.flag}`), `README lacks --${o.flag}`);
    assert.ok(readme.includes(o.env[0]!), `README lacks ${o.env[0]}`);
  }
});

describe('commands named the way the user can run them (issue 14)', () => {
  test('npx, a clone and an install each get their own form', () => {
    assert.equal(
      commandFor('doctor', { npm_command: 'exec' }, '/x/node_modules/ibkr-mcp/dist/cli.js'),
      'npx ibkr-mcp doctor',
    );
    assert.equal(commandFor('doctor', {}, '/root/.npm/_npx/abc/node_modules/.bin/ibkr-mcp'), 'npx ibkr-mcp doctor');
    assert.equal(
      commandFor('doctor', {}, '/home/me/ibkr-mcp/dist/cli.js'),
      'node /home/me/ibkr-mcp/dist/cli.js doctor',
    );
    assert.equal(commandFor('setup', {}, '/usr/lib/node_modules/ibkr-mcp/dist/cli.js'), 'ibkr-mcp setup');
    assert.equal(commandFor('doctor', {}, '/usr/local/bin/ibkr-mcp'), 'ibkr-mcp doctor');
  });
});

/** What Claude Desktop passes for a .mcpb setting left blank: the placeholder itself. */
const blankSetting = (key: string) => `\${user_config.${key}}`;

test('a blank .mcpb setting (the literal user_config placeholder) counts as unset', () => {
  const blank = env({
    IB_BACKEND: blankSetting('backend'),
    IB_GATEWAY_URL: blankSetting('gateway_url'),
    IB_READ_ONLY_MODE: '',
  });
  const { config, sources } = loadConfig([], blank);
  assert.equal(config.backend, 'sim');
  assert.notEqual(sources['backend'], 'IB_BACKEND');
  assert.equal(config.readOnly, false);
  const withUrl = env({ IB_BACKEND: blankSetting('backend'), IB_GATEWAY_URL: 'https://h:1' });
  assert.equal(loadConfig([], withUrl).config.backend, 'gateway');
});

test('--auth oauth: the gateway backend without a managed gateway; not with the built-in simulator; secrets hidden', () => {
  const { config } = loadConfig(['--auth', 'oauth', '--oauth-signature-key-file', '~/k.pem'], {
    IB_OAUTH_ACCESS_TOKEN: 'tok-canary-1a2b',
    IB_OAUTH_ACCESS_TOKEN_SECRET: 'sec-canary-3c4d',
  });
  assert.equal(config.backend, 'gateway');
  assert.equal(config.auth, 'oauth');
  assert.equal(config.oauthRealm, 'limited_poa');
  assert.equal(config.oauthBaseUrl, 'https://api.ibkr.com/v1/api');
  assert.ok(!config.oauthSignatureKeyFile?.startsWith('~'), 'key file paths are expanded');
  const printed = JSON.stringify(publicConfig(config));
  assert.doesNotMatch(printed, /canary/);
  assert.throws(() => loadConfig(['--auth', 'oauth', '--backend', 'sim'], {}), /drop --backend sim/);
  assert.equal(loadConfig([], { IB_AUTH: 'oauth' }).config.backend, 'gateway');
});

test('--accounts, --default-account and the simulator advisor login (issue 19)', () => {
  const { config } = loadConfig(['--accounts', 'du1,DU2', '--default-account', 'all'], env());
  assert.deepEqual(config.accounts, ['du1', 'DU2']);
  assert.equal(config.defaultAccount, 'all');
  assert.equal(loadConfig([], env({ IBKR_MCP_DEFAULT_ACCOUNT: 'DU7654321' })).config.defaultAccount, 'DU7654321');
  assert.deepEqual(loadConfig([], env()).config.accounts, []);
  assert.equal(loadSimulatorArgs(['--advisor-accounts', '120']).advisorAccounts, 120);
  assert.equal(loadSimulatorArgs([]).advisorAccounts, 0);
  assert.throws(() => loadSimulatorArgs(['--advisor-accounts', '-1']), ConfigError);
});
