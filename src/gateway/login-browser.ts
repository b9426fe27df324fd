/**
 * Browser login (the original product's default): open the gateway's login page in the
 * user's own browser, then poll the session until it is up or the login time runs out.
 * The user's browser is theirs: we open a page, we never kill it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { childEnv } from './child-env.js';
import type { LoginContext, LoginDriver, LoginOutcome } from './session-types.js';

/** Why no browser could be opened, or undefined when an opener exists. */
export function browserOpenerMissing(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (platform === 'win32') return undefined;
  const cmd = platform === 'darwin' ? 'open' : 'xdg-open';
  const found = (env['PATH'] ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
  if (!found) return `${cmd} is not installed`;
  if (platform !== 'darwin' && !env['DISPLAY'] && !env['WAYLAND_DISPLAY']) {
    return 'there is no graphical display (DISPLAY / WAYLAND_DISPLAY unset)';
  }
  return undefined;
}

/**
 * Opens a URL in the default browser. Resolves with undefined when it was handed to the browser,
 * or with why not: no opener, no display, the opener did not start or failed within `settleMs`.
 */
export function openInBrowser(
  url: string,
  platform: NodeJS.Platform = process.platform,
  opts: { env?: NodeJS.ProcessEnv; settleMs?: number } = {},
): Promise<string | undefined> {
  if (!/^https?:\/\//.test(url)) return Promise.resolve('not a web address');
  const env = opts.env ?? process.env;
  const missing = browserOpenerMissing(platform, env);
  if (missing) return Promise.resolve(missing);
  const [cmd, args] =
    platform === 'darwin'
      ? ['open', [url]]
      : platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  return new Promise((resolve) => {
    let settled = false;
    const done = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      resolve(why);
    };
    try {
      const child = spawn(cmd as string, args as string[], {
        stdio: 'ignore',
        detached: true,
        env: childEnv(env),
        windowsHide: true,
      });
      child.on('error', (err) => done(`${cmd} did not start: ${err.message}`));
      // An opener that fails says so at once (xdg-open exits non-zero with no browser to hand to).
      child.on('exit', (code) => done(code === 0 || code === null ? undefined : `${cmd} exited with code ${code}`));
      child.on('spawn', () => {
        setTimeout(() => done(undefined), opts.settleMs ?? 1000);
      });
      child.unref();
    } catch (err) {
      done(`${cmd} did not start: ${(err as Error).message}`);
    }
  });
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener behind either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function browserLogin(
  opts: { open?: boolean; pollMs?: number; opener?: (url: string) => Promise<string | undefined> } = {},
): LoginDriver {
  return {
    method: 'browser',
    async run(ctx: LoginContext): Promise<LoginOutcome> {
      const notOpened =
        opts.open === false ? 'opening a browser is turned off' : await (opts.opener ?? openInBrowser)(ctx.loginUrl);
      ctx.log.info('browser login', {
        url: ctx.loginUrl,
        opened: notOpened === undefined,
        ...(notOpened ? { why: notOpened } : {}),
      });
      ctx.progress(
        notOpened === undefined
          ? `Opened ${ctx.loginUrl} in your browser: log in there (user name, password, second factor).`
          : `Could not open a browser (${notOpened}): open ${ctx.loginUrl} in a browser on this machine and log in.`,
      );
      const deadline = Date.now() + ctx.timeoutMs;
      let lastNote = Date.now();
      while (Date.now() < deadline && !ctx.signal.aborted) {
        if (await ctx.checkAuthenticated()) return { ok: true, message: 'Logged in through the browser.' };
        if (Date.now() - lastNote > 10_000) {
          lastNote = Date.now();
          ctx.progress(
            `Waiting for the login at ${ctx.loginUrl} (${Math.round((deadline - Date.now()) / 1000)} s left).`,
          );
        }
        await sleep(opts.pollMs ?? 2000, ctx.signal);
      }
      if (ctx.signal.aborted) return { ok: false, kind: 'cancelled', reason: 'The login was cancelled.' };
      return {
        ok: false,
        kind: 'timeout',
        reason: `No login at ${ctx.loginUrl} within ${Math.round(ctx.timeoutMs / 1000)} s. Log in there, then retry.`,
      };
    },
  };
}
