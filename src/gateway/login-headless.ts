/**
 * Headless login: drives the gateway's login page with playwright-core and the system's
 * Chromium (found on the PATH or given with --chromium-path; never downloaded). Second factor:
 * wait for approval in the IBKR app (with progress), or a TOTP code from IB_TOTP_SECRET, at
 * most one code per 30-second window. The browser is closed on every outcome. Credentials go
 * only into the page's fields: never to logs, disk, or the browser's environment.
 */
import { createRequire } from 'node:module';
import * as OTPAuth from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { untrusted } from '../broker/untrusted.js';
import { childEnv } from './child-env.js';
import { findChromium, installChromium } from './chromium.js';
import { own } from './cleanup.js';
import { sleep } from './login-browser.js';
import { DEFAULT_SELECTORS, type LoginSelectors } from './login-selectors.js';
import { ensurePackage, type FoundPackage, findPackage, OPTIONAL_PACKAGES } from './npm-package.js';
import type { LoginContext, LoginDriver, LoginOutcome } from './session-types.js';

export { findChromium } from './chromium.js';
export { DEFAULT_SELECTORS, type LoginSelectors, mergeSelectors } from './login-selectors.js';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * TOTP codes, at most one per time window: a second code in the same window would be the same
 * (already rejected or already used) code, and IB counts every wrong answer.
 */
export class TotpWindow {
  private readonly totp: OTPAuth.TOTP;
  private lastWindow = -1;
  submitted = 0;

  constructor(secret: string, period = 30) {
    this.totp = new OTPAuth.TOTP({
      secret: OTPAuth.Secret.fromBase32(secret.replace(/\s+/g, '').toUpperCase()),
      period,
    });
  }

  get period(): number {
    return this.totp.period;
  }

  windowOf(now: number): number {
    return Math.floor(now / 1000 / this.totp.period);
  }

  /** A code for this window, or undefined when this window already had one. */
  next(now: number = Date.now()): string | undefined {
    const w = this.windowOf(now);
    if (w === this.lastWindow) return undefined;
    this.lastWindow = w;
    this.submitted += 1;
    return this.totp.generate({ timestamp: now });
  }
}

export interface HeadlessOptions {
  username?: string;
  password?: string;
  paper: boolean;
  totpSecret?: string;
  chromiumPath?: string;
  selectors?: LoginSelectors;
  /** Most TOTP codes one login may submit (default 2). */
  maxTotpCodes?: number;
  /** ibkr-mcp's cache: a browser installed there is used, and one is installed there when none is found. */
  cacheDir?: string;
  /** Replaces playwright's installer (tests). */
  installer?: string[];
  /** Replaces npm for installing playwright-core, and where our own packages resolve from (tests). */
  npm?: { command?: string[]; from?: string };
}

type Playwright = typeof import('playwright-core');

/**
 * playwright-core: where our dependencies are, else from ibkr-mcp's cache, else installed there
 * now (src/gateway/npm-package.ts). A failure is a setup outcome that says what to do instead.
 */
async function loadPlaywright(
  opts: HeadlessOptions,
  ctx: LoginContext,
): Promise<{ ok: true; pkg: FoundPackage } | { ok: false; outcome: LoginOutcome }> {
  const instead =
    "Or log in without headless mode: unset IB_HEADLESS_MODE and open the gateway's login page in a browser.";
  if (!opts.cacheDir) {
    const pkg = findPackage('playwright-core', undefined, opts.npm?.from);
    if (pkg) return { ok: true, pkg };
    const reason = `Headless login needs the npm package playwright-core, which is not installed: npm install playwright-core@${OPTIONAL_PACKAGES['playwright-core'].version} next to ibkr-mcp. ${instead}`;
    return { ok: false, outcome: { ok: false, kind: 'setup', reason } };
  }
  try {
    const pkg = await ensurePackage('playwright-core', {
      cacheDir: opts.cacheDir,
      progress: (line) => ctx.progress(line),
      signal: ctx.signal,
      ...(opts.npm?.command ? { command: opts.npm.command } : {}),
      ...(opts.npm?.from ? { from: opts.npm.from } : {}),
    });
    return { ok: true, pkg };
  } catch (err) {
    if (ctx.signal.aborted)
      return { ok: false, outcome: { ok: false, kind: 'cancelled', reason: 'The login was cancelled.' } };
    ctx.log.warn('headless login: playwright-core is missing', { err: (err as Error).message });
    return {
      ok: false,
      outcome: {
        ok: false,
        kind: 'setup',
        reason: `Headless login needs the npm package playwright-core. ${(err as Error).message}. ${instead}`,
      },
    };
  }
}

async function visible(page: Page, selector: string): Promise<boolean> {
  try {
    return await page.locator(selector).filter({ visible: true }).first().isVisible({ timeout: 200 });
  } catch {
    return false;
  }
}

async function visibleText(page: Page, selector: string): Promise<string | undefined> {
  try {
    const loc = page.locator(selector).filter({ visible: true });
    const n = await loc.count();
    for (let i = 0; i < n; i++) {
      const t = ((await loc.nth(i).textContent({ timeout: 500 })) ?? '').trim();
      if (t) return t.slice(0, 300);
    }
  } catch {
    // page navigating
  }
  return undefined;
}

/** What IB's page says while it waits for approval in the IBKR app. */
const PUSH_TEXT = /sent you a notification|open the ibkr notification|approve the notification/i;

async function visibleByText(page: Page, text: RegExp): Promise<boolean> {
  try {
    return await page.getByText(text).filter({ visible: true }).first().isVisible({ timeout: 200 });
  } catch {
    return false;
  }
}

export function headlessLogin(opts: HeadlessOptions): LoginDriver {
  const sel = opts.selectors ?? DEFAULT_SELECTORS;
  return {
    method: 'headless',
    async run(ctx: LoginContext): Promise<LoginOutcome> {
      if (!opts.username || !opts.password) {
        return {
          ok: false,
          kind: 'setup',
          reason: 'Headless login needs IB_USERNAME and IB_PASSWORD_AUTH (or --ib-username / --ib-password-auth).',
        };
      }
      const pw = await loadPlaywright(opts, ctx);
      if (!pw.ok) return pw.outcome;
      let exe = findChromium(opts.chromiumPath, process.env, { cacheDir: opts.cacheDir });
      if (!exe && opts.chromiumPath) {
        return { ok: false, kind: 'setup', reason: `--chromium-path ${opts.chromiumPath} does not exist.` };
      }
      if (!exe && opts.cacheDir) {
        ctx.progress(
          'No Chrome, Chromium or Edge found: installing Chromium for the headless login (once, into the ibkr-mcp cache).',
        );
        try {
          exe = await installChromium({
            cacheDir: opts.cacheDir,
            playwrightDir: pw.pkg.dir,
            progress: (line) => ctx.progress(`Installing Chromium: ${line}`),
            signal: ctx.signal,
            ...(opts.installer ? { command: opts.installer } : {}),
          });
          ctx.log.info('headless login: Chromium installed', { path: exe });
        } catch (err) {
          return {
            ok: false,
            kind: 'setup',
            reason: `${(err as Error).message}. Install Chrome or Chromium (Debian/Ubuntu: apt-get install chromium), or pass --chromium-path.`,
          };
        }
      }
      if (!exe) {
        return {
          ok: false,
          kind: 'setup',
          reason:
            'No Chrome, Chromium or Edge found for headless login. Install one (Debian/Ubuntu: apt-get install chromium) or pass --chromium-path.',
        };
      }
      const { chromium } = createRequire(import.meta.url)(pw.pkg.entry) as Playwright;
      const deadline = Date.now() + ctx.timeoutMs;
      let browser: Browser | undefined;
      let unown: (() => void) | undefined;
      try {
        browser = await chromium.launch({
          executablePath: exe,
          headless: true,
          args: CHROMIUM_FLAGS,
          env: childEnv() as Record<string, string>,
          timeout: 30_000,
        });
        const b = browser;
        unown = own({ stop: () => b.close().catch(() => {}), killNow: () => {} });
        // Closing the server closes the browser at once, whatever the page is doing.
        ctx.signal.addEventListener('abort', () => void b.close().catch(() => {}), { once: true });
        const context = await browser.newContext({ ignoreHTTPSErrors: true });
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        const url = `${ctx.gatewayUrl.replace(/\/+$/, '')}/sso/Login?forwardTo=22&RL=1&ip2loc=US`;
        ctx.log.info('headless login: opening the login page', { url, chromium: exe });
        ctx.progress('Opening the IB login page in headless Chromium.');
        await page.goto(url, { waitUntil: 'domcontentloaded', timeout: Math.max(5000, deadline - Date.now()) });
        const user = page.locator(sel.username).filter({ visible: true }).first();
        await user.waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(30_000, deadline - Date.now())) });
        await user.fill(opts.username);
        await page.locator(sel.password).filter({ visible: true }).first().fill(opts.password);
        const toggle = page.locator(sel.paperToggle).first();
        if ((await toggle.count()) > 0) {
          const checked = await toggle.isChecked().catch(() => false);
          if (checked !== opts.paper) {
            const id = await toggle.getAttribute('id');
            const label = id ? page.locator(`label[for="${id}"]`).first() : undefined;
            if (label && (await label.count()) > 0) await label.click();
            else await toggle.click({ force: true });
          }
        } else if (opts.paper) {
          ctx.log.warn('headless login: no paper-trading toggle on the login page');
        }
        await page.locator(sel.submit).filter({ visible: true }).first().click();
        ctx.progress('Credentials submitted; waiting for IB.');

        const totp = opts.totpSecret ? new TotpWindow(opts.totpSecret) : undefined;
        const maxCodes = opts.maxTotpCodes ?? 2;
        let secondFactor: 'push' | 'totp' | undefined;
        let codeSubmittedAt = 0;
        let lastCheck = 0;
        let lastProgress = 0;
        while (Date.now() < deadline) {
          if (ctx.signal.aborted) return { ok: false, kind: 'cancelled', reason: 'The login was cancelled.' };
          const success = await visible(page, sel.success);
          if (success || Date.now() - lastCheck > 3000) {
            lastCheck = Date.now();
            if (await ctx.checkAuthenticated()) return { ok: true, message: 'Logged in headlessly.' };
          }
          const err = await visibleText(page, sel.error);
          if (err && !success) {
            if (secondFactor === 'totp' && codeSubmittedAt > 0) {
              return {
                ok: false,
                kind: 'second_factor',
                reason: `IB rejected the authenticator code: ${untrusted(err, { max: 200 })}`,
              };
            }
            return { ok: false, kind: 'credentials', reason: `IB refused the login: ${untrusted(err, { max: 200 })}` };
          }
          if (await visible(page, sel.totpInput)) {
            if (!totp) {
              return {
                ok: false,
                kind: 'setup',
                reason:
                  'IB asks for an authenticator code, and IB_TOTP_SECRET is not set. Set it, or use IB app approval (push) as the second factor.',
              };
            }
            if (secondFactor !== 'totp') {
              secondFactor = 'totp';
              ctx.secondFactor('IB asks for the authenticator code; ibkr-mcp enters it from IB_TOTP_SECRET.');
            }
            const code = totp.submitted < maxCodes ? totp.next() : undefined;
            if (code) {
              const input = page.locator(sel.totpInput).filter({ visible: true }).first();
              await input.fill(code);
              await page.locator(sel.totpSubmit).filter({ visible: true }).first().click();
              codeSubmittedAt = Date.now();
              ctx.progress('Authenticator code submitted.');
            } else if (totp.submitted >= maxCodes && Date.now() - codeSubmittedAt > 10_000) {
              return {
                ok: false,
                kind: 'second_factor',
                reason: `IB still asks for a code after ${maxCodes} codes; check IB_TOTP_SECRET and this machine's clock.`,
              };
            }
          } else if ((await visible(page, sel.push)) || (await visibleByText(page, PUSH_TEXT))) {
            if (secondFactor !== 'push') {
              secondFactor = 'push';
              ctx.secondFactor('IB sent a notification to the IBKR mobile app: approve it there.');
            }
            if (Date.now() - lastProgress > 2000) {
              lastProgress = Date.now();
              ctx.progress(
                `Waiting for approval in the IBKR mobile app (${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left).`,
              );
            }
          }
          await sleep(500, ctx.signal);
        }
        const secs = Math.round(ctx.timeoutMs / 1000);
        if (secondFactor) {
          return {
            ok: false,
            kind: 'second_factor',
            reason: `The second factor was not completed within ${secs} s (IB_AUTH_TIMEOUT).`,
          };
        }
        return { ok: false, kind: 'timeout', reason: `The login did not complete within ${secs} s (IB_AUTH_TIMEOUT).` };
      } catch (err) {
        const msg = (err as Error)?.message?.split('\n')[0] ?? String(err);
        return { ok: false, kind: 'setup', reason: `Headless login broke off: ${msg}` };
      } finally {
        await browser?.close().catch(() => {});
        unown?.();
      }
    },
  };
}
