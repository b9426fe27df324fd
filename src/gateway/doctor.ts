/**
 * `ibkr-mcp doctor`: one pass/fail line per thing the real gateway path needs, each with what
 * to do. Read-only: it starts nothing and logs nobody in.
 */
import type { Backend } from '../broker/backend.js';
import type { BrokerSession } from '../broker/session.js';
import { commandFor } from '../config/command.js';
import { type Config, ConfigError, loadConfig, OPTIONS } from '../config/index.js';
import { chooseManagedPort, wantsManagedGateway } from './index.js';
import { findJava, javaInstallAdvice } from './java.js';
import { findChromium } from './login-headless.js';
import { findPackage, manualInstall, OPTIONAL_PACKAGES } from './npm-package.js';
import { answers, portIsFree } from './process.js';
import { cacheDir, checkGatewayDir, gatewayCachePaths } from './provision.js';

export interface Check {
  name: string;
  status: 'pass' | 'fail' | 'warn' | 'info';
  detail: string;
  fix?: string;
}

/** AAPL's conid at IB: the market-data check asks for its quote. */
const AAPL_CONID = 265598;

/** How the doctor reaches a gateway: a backend and its session, wired by the caller (main.ts). */
export type DoctorConnect = (url: string, insecureTls: boolean) => { backend: Backend; session: BrokerSession };

/**
 * How the doctor checks OAuth (wired by main.ts): each step of the chain as a check and, when IB gave
 * a live session token, a backend signing with it, for the session, accounts and market data checks.
 */
export type DoctorOAuth = (config: Config) => Promise<{
  checks: Check[];
  connection?: { backend: Backend; session: BrokerSession };
}>;

function nodeOk(version: string): boolean {
  const [maj, min, pat] = version.replace(/^v/, '').split('.').map(Number) as [number, number, number];
  if (maj !== 20) return maj > 20;
  return min > 18 || (min === 18 && pat >= 1);
}

/** The session, its accounts and market data, through a connected backend (closed afterwards). */
async function sessionChecks(
  conn: { backend: Backend; session: BrokerSession },
  add: (c: Check) => void,
  opts: { notLoggedIn: string; openBrokerage: boolean },
): Promise<void> {
  const { backend, session } = conn;
  try {
    let st = await session.authStatus();
    // OAuth: the live session token is the login; the brokerage session opens without competing.
    if (opts.openBrokerage && !st.authenticated && st.connected && !st.competing) {
      st = await session.openBrokerageSession(false);
    }
    const authed = st.authenticated;
    add(
      authed
        ? { name: 'Session', status: 'pass', detail: 'authenticated' }
        : st.competing
          ? {
              name: 'Session',
              status: 'fail',
              detail: 'competing: another IB session holds the brokerage session',
              fix: 'Log out of TWS / IBKR mobile / other browsers, then log in again.',
            }
          : { name: 'Session', status: 'fail', detail: 'not logged in', fix: opts.notLoggedIn },
    );
    if (authed) {
      const { accounts: list, mode } = await session.loggedIn();
      add(
        list.length
          ? { name: 'Accounts', status: 'pass', detail: `${list.join(', ')}${mode === 'PAPER' ? ' (paper)' : ''}` }
          : {
              name: 'Accounts',
              status: 'fail',
              detail: 'none visible',
              fix: 'Check the account permissions in IB Client Portal.',
            },
      );
      const [aapl] = await backend.snapshot([AAPL_CONID], ['last'], { maxWaitMs: 1500 });
      const avail = aapl?.availability ?? 'unknown';
      add(
        avail === 'live'
          ? { name: 'Market data', status: 'pass', detail: `real-time (AAPL: ${avail})` }
          : avail === 'delayed' || avail === 'frozen' || avail === 'frozen-delayed'
            ? {
                name: 'Market data',
                status: 'warn',
                detail: `delayed or frozen (AAPL: ${avail})`,
                fix: 'Subscribe to market data in IB Client Portal for real-time quotes.',
              }
            : {
                name: 'Market data',
                status: 'warn',
                detail: avail === 'unknown' ? 'no answer' : `not subscribed (${avail})`,
                fix: 'Check market-data subscriptions in IB Client Portal.',
              },
      );
    }
  } catch (e) {
    add({
      name: 'Session',
      status: 'fail',
      detail: (e as Error).message,
      fix:
        (e as { hint?: string }).hint ??
        "The gateway could not check the session; it may not reach IB's servers. Check the network and the gateway's output.",
    });
  } finally {
    await backend.close();
  }
}

export async function doctorChecks(config: Config, connect: DoctorConnect, oauth?: DoctorOAuth): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  add(
    nodeOk(process.version)
      ? { name: 'Node.js', status: 'pass', detail: process.version }
      : { name: 'Node.js', status: 'fail', detail: process.version, fix: 'Install Node.js 20.18.1 or newer.' },
  );
  if (config.auth === 'oauth' && oauth) {
    // OAuth: no gateway, Java or browser; the OAuth chain step by step, then the session end to end.
    add({ name: 'Backend', status: 'info', detail: `IB's API over OAuth 1.0a at ${config.oauthBaseUrl}` });
    const probe = await oauth(config);
    for (const c of probe.checks) add(c);
    if (probe.connection) {
      await sessionChecks(probe.connection, add, {
        notLoggedIn: 'IB gave a live session token but no brokerage session: retry in a minute.',
        openBrokerage: true,
      });
    }
    limitsCheck(config, add);
    return checks;
  }
  if (config.backend === 'sim') {
    add({
      name: 'Backend',
      status: 'info',
      detail: 'the built-in simulator (no IB account used); the checks below are for a real gateway',
      fix: 'Set --backend gateway (or IB_GATEWAY_URL / IB_USERNAME) to use IB.',
    });
  }
  const managed = wantsManagedGateway({ ...config, backend: 'gateway' });
  const cache = cacheDir(config.home);
  const found = await findJava({ cacheDir: cache });
  if (found.java) {
    add({ name: 'Java', status: 'pass', detail: `${found.java.version} (${found.java.source}: ${found.java.path})` });
  } else {
    add({
      name: 'Java',
      status: 'warn',
      detail: `${found.rejected.length ? found.rejected.join('; ') : 'not found'}${managed ? "; the first start installs a Temurin JRE into ibkr-mcp's cache by itself (SHA-256 verified)" : ''}`,
      fix: javaInstallAdvice(),
    });
  }

  let url = config.gatewayUrl;
  let port = 0;
  if (managed) {
    // The same choice the server makes at start: the configured port, or a spare one when the default is busy.
    const chosen = await chooseManagedPort(config, portIsFree);
    port = chosen.port;
    url = `https://127.0.0.1:${port}`;
    const dir = config.gatewayDir ?? gatewayCachePaths(config.home).dir;
    const check = checkGatewayDir(dir);
    add(
      check.ok
        ? { name: 'Gateway distribution', status: 'pass', detail: check.layout.dir }
        : {
            name: 'Gateway distribution',
            status: config.gatewayDir ? 'fail' : 'info',
            detail: `${dir}: missing ${check.missing.join(', ')}`,
            fix: config.gatewayDir
              ? 'Point --gateway-dir at the unpacked clientportal.gw folder.'
              : `The first start downloads it; or run \`${commandFor('setup')}\` to download it now.`,
          },
    );
    const free = chosen.busy !== undefined || (await portIsFree(port));
    add(
      chosen.busy !== undefined
        ? {
            name: 'Gateway port',
            status: 'info',
            detail: `${chosen.busy} is in use by another program; ibkr-mcp's gateway will use port ${port} (log in at https://localhost:${port})`,
            fix: `To use a gateway you run on ${chosen.busy} instead, pass --gateway-url https://localhost:${chosen.busy}.`,
          }
        : free
          ? { name: 'Gateway port', status: 'pass', detail: `${port} is free for ibkr-mcp's gateway` }
          : {
              name: 'Gateway port',
              status: 'warn',
              detail: `${port} (chosen with --gateway-port) is in use`,
              fix: `Fine if a running ibkr-mcp holds it; otherwise another program does: choose a free port with --gateway-port, or use that gateway with --gateway-url https://localhost:${port}.`,
            },
    );
  } else {
    add({ name: 'Gateway distribution', status: 'info', detail: `you run the gateway yourself at ${url}` });
  }

  const up = await answers(url, 3000);
  add(
    up
      ? { name: 'Gateway answering', status: 'pass', detail: url }
      : {
          name: 'Gateway answering',
          status: managed ? 'info' : 'fail',
          detail: `nothing answers at ${url}`,
          fix: managed
            ? 'ibkr-mcp starts the gateway when the server runs; nothing to do.'
            : `Start your Client Portal gateway (bin/run.sh root/conf.yaml) or fix --gateway-url.`,
        },
  );

  if (up) {
    const loginUrl = managed ? `https://localhost:${port}` : config.gatewayUrl;
    await sessionChecks(connect(url, config.gatewayInsecureTls), add, {
      notLoggedIn: `Log in at ${loginUrl}, or run the server and call authenticate.`,
      openBrokerage: false,
    });
  }

  const chromium = findChromium(config.chromiumPath, process.env, { cacheDir: cache });
  add(
    chromium
      ? { name: 'Chromium (headless login)', status: 'pass', detail: chromium }
      : {
          name: 'Chromium (headless login)',
          status: config.chromiumPath && config.ibHeadlessMode ? 'fail' : 'info',
          detail: config.chromiumPath
            ? `${config.chromiumPath} does not exist`
            : "no Chrome, Chromium or Edge found; the first headless login installs Chromium into ibkr-mcp's cache (playwright's installer)",
          fix: 'Needed only for IB_HEADLESS_MODE: install Chrome or Chromium (apt-get install chromium) or pass --chromium-path.',
        },
  );
  // Packages installed on first use (src/gateway/npm-package.ts): where they are, or that they will come.
  for (const [name, purpose] of [
    ['playwright-core', 'headless login'],
    ['@resvg/resvg-js', 'chart images'],
  ] as const) {
    const found = findPackage(name, cache);
    add({
      name: `${name} (${purpose})`,
      status: found ? 'pass' : 'info',
      detail: found
        ? found.dir
        : `not installed; the first use installs ${name}@${OPTIONAL_PACKAGES[name].version} into ibkr-mcp's cache with npm`,
      ...(found ? {} : { fix: `Offline? Install it beforehand: ${manualInstall(cache, name)}` }),
    });
  }
  if (config.ibHeadlessMode && (!config.ibUsername || !config.ibPasswordAuth)) {
    add({
      name: 'Headless credentials',
      status: 'fail',
      detail: 'IB_USERNAME or IB_PASSWORD_AUTH is missing',
      fix: 'Set both for headless login.',
    });
  }

  limitsCheck(config, add);
  return checks;
}

function limitsCheck(config: Config, add: (c: Check) => void): void {
  const cfg = config as unknown as Record<string, unknown>;
  const limits = OPTIONS.filter((o) => o.group === 'Trading safety' && !o.secret)
    .map((o) => `${o.flag}=${JSON.stringify(cfg[o.key])}`)
    .join(', ');
  add({
    name: 'Trading mode and limits',
    status: 'info',
    detail: [
      config.readOnly ? 'read-only (no order tools)' : 'orders enabled',
      config.ibPaperTrading ? 'paper login' : 'live login unless the account is paper',
      config.auth === 'oauth' ? 'OAuth 1.0a' : config.ibHeadlessMode ? 'headless login' : 'browser login',
      `keep-alive every ${config.keepaliveSeconds} s`,
      config.allowCompetingSession ? 'takes over competing sessions' : 'never kicks out other sessions',
      limits,
    ]
      .filter(Boolean)
      .join('; '),
  });
}

const MARK: Record<Check['status'], string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', info: 'INFO' };

export function formatChecks(checks: Check[]): string {
  return `${checks
    .map((c) => `${MARK[c.status]}  ${c.name}: ${c.detail}${c.fix && c.status !== 'pass' ? `\n      → ${c.fix}` : ''}`)
    .join('\n')}\n`;
}

export async function runDoctor(
  argv: string[],
  connect: DoctorConnect,
  out: (s: string) => void = (s) => process.stdout.write(s),
  oauth?: DoctorOAuth,
): Promise<number> {
  const loaded = loadConfig(argv);
  if (loaded.help) {
    out(
      'ibkr-mcp doctor [options]\n  Checks Node, Java, the gateway, the session, accounts, market data, Chromium and the configured limits.\n  With --auth oauth: each part of the OAuth setup, a live session token, then the session end to end.\n',
    );
    return 0;
  }
  if (loaded.positionals.length) throw new ConfigError(`Unexpected argument "${loaded.positionals[0]}".`);
  const checks = await doctorChecks(loaded.config, connect, oauth);
  out(formatChecks(checks));
  const failed = checks.filter((c) => c.status === 'fail').length;
  out(failed ? `${failed} check(s) failed.\n` : 'All checks passed.\n');
  return failed ? 1 : 0;
}
