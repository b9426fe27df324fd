/**
 * Browser login (the original product's default): open the gateway's login page in the
 * user's own browser, then poll the session until it is up or the login time runs out.
 * The user's browser is theirs: we open a page, we never kill it.
 */
import { spawn } from 'node:child_process';
import { childEnv } from './child-env.js';
import type { LoginContext, LoginDriver, LoginOutcome } from './session-types.js';

/** Opens a URL in the default browser; false when no opener could be started. */
export function openInBrowser(url: string, platform: NodeJS.Platform = process.platform): boolean {
  if (!/^https?:\/\//.test(url)) return false;
  const [cmd, args] =
    platform === 'darwin'
      ? ['open', [url]]
      : platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd as string, args as string[], {
      stdio: 'ignore',
      detached: true,
      env: childEnv(),
      windowsHide: true,
    });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

export function browserLogin(opts: { open?: boolean; pollMs?: number } = {}): LoginDriver {
  return {
    method: 'browser',
    async run(ctx: LoginContext): Promise<LoginOutcome> {
      const opened = opts.open !== false && openInBrowser(ctx.loginUrl);
      ctx.log.info('browser login', { url: ctx.loginUrl, opened });
      ctx.progress(
        opened
          ? `Opened ${ctx.loginUrl} in your browser: log in there (user name, password, second factor).`
          : `Open ${ctx.loginUrl} in a browser on this machine and log in.`,
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
