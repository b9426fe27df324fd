/**
 * The browser for headless login: the one given with --chromium-path, else Chrome, Chromium or
 * Edge where the platform keeps them, else the one ibkr-mcp installed in its cache; when there is
 * none, playwright-core's own installer puts Chrome's headless shell into the cache, once, with
 * progress. The installer runs as a child without our secrets (childEnv).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { childEnv } from './child-env.js';

const NAMES = [
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'chrome',
  'microsoft-edge',
  'microsoft-edge-stable',
  'msedge',
];

function platformPaths(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === 'darwin') {
    return [
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      '/Applications/Chromium.app/Contents/MacOS/Chromium',
      '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
    ];
  }
  if (platform === 'win32') {
    const roots = [env['PROGRAMFILES'], env['PROGRAMFILES(X86)'], env['LOCALAPPDATA']].filter(Boolean) as string[];
    if (!roots.length) roots.push('C:\\Program Files', 'C:\\Program Files (x86)');
    return roots.flatMap((r) => [
      join(r, 'Google', 'Chrome', 'Application', 'chrome.exe'),
      join(r, 'Microsoft', 'Edge', 'Application', 'msedge.exe'),
      join(r, 'Chromium', 'Application', 'chrome.exe'),
    ]);
  }
  if (platform !== 'linux' && platform !== 'freebsd' && platform !== 'openbsd') return [];
  return [
    '/usr/bin/chromium',
    '/usr/bin/google-chrome',
    '/opt/google/chrome/chrome',
    '/usr/bin/microsoft-edge',
    '/opt/microsoft/msedge/msedge',
    '/snap/bin/chromium',
  ];
}

/** Where ibkr-mcp keeps the browser it installed (playwright's PLAYWRIGHT_BROWSERS_PATH). */
export function browsersDir(cacheDir: string): string {
  return join(cacheDir, 'browsers');
}

/** The executable of a browser playwright installed under `dir`, if any. */
export function installedChromium(dir: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (!existsSync(dir)) return undefined;
  const exe = platform === 'win32' ? '.exe' : '';
  for (const d of readdirSync(dir).sort().reverse()) {
    if (!/^(chromium_headless_shell|chromium)-\d+$/.test(d)) continue;
    const root = join(dir, d);
    for (const sub of readdirSync(root)) {
      for (const name of ['chrome-headless-shell', 'chrome', 'Chromium']) {
        const p = join(root, sub, `${name}${exe}`);
        if (existsSync(p)) return p;
      }
      const mac = join(root, sub, 'Chromium.app', 'Contents', 'MacOS', 'Chromium');
      if (existsSync(mac)) return mac;
    }
  }
  return undefined;
}

/** The browser to use: the configured one, else the first found on the PATH, in the usual places, or in our cache. */
export function findChromium(
  configured?: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { cacheDir?: string; platform?: NodeJS.Platform } = {},
): string | undefined {
  if (configured) return existsSync(configured) ? configured : undefined;
  const platform = opts.platform ?? process.platform;
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const n of NAMES) {
      const p = join(dir, platform === 'win32' ? `${n}.exe` : n);
      if (existsSync(p)) return p;
    }
  }
  const usual = platformPaths(platform, env).find((p) => existsSync(p));
  if (usual) return usual;
  return opts.cacheDir ? installedChromium(browsersDir(opts.cacheDir), platform) : undefined;
}

/** playwright-core's command-line installer: [node, cli.js] of the package in `dir`. */
export function playwrightInstaller(dir: string): string[] {
  return [process.execPath, join(dir, 'cli.js')];
}

/**
 * Installs Chrome's headless shell with playwright-core's own installer into the cache and
 * returns its executable. `command` replaces the installer (tests); progress gets its output lines.
 */
export function installChromium(opts: {
  cacheDir: string;
  /** The folder of playwright-core (src/gateway/npm-package.ts). */
  playwrightDir?: string;
  progress?: (line: string) => void;
  command?: string[];
  signal?: AbortSignal;
  timeoutMs?: number;
}): Promise<string> {
  const dir = browsersDir(opts.cacheDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const command = opts.command ?? (opts.playwrightDir ? playwrightInstaller(opts.playwrightDir) : undefined);
  if (!command)
    return Promise.reject(new Error('playwright-core is not installed, so its Chromium installer is missing'));
  const [cmd, ...pre] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...pre, 'install', 'chromium-headless-shell'], {
      env: childEnv({ ...process.env, PLAYWRIGHT_BROWSERS_PATH: dir }),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      timeout: opts.timeoutMs ?? 600_000,
      killSignal: 'SIGKILL',
    });
    let tail = '';
    let lastPct = -10;
    const onData = (d: Buffer) => {
      for (const raw of d.toString().split(/[\r\n]+/)) {
        const line = raw.trim();
        if (!line) continue;
        tail = `${tail}\n${line}`.slice(-1000);
        // The installer redraws its bar often; report each 10 % step and every other line.
        const pct = /(\d+)%/.exec(line);
        if (pct) {
          const n = Number(pct[1]);
          if (n < lastPct + 10 && n !== 100) continue;
          lastPct = n;
        }
        opts.progress?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new Error(`The Chromium installer did not run: ${err.message}`)));
    child.on('exit', (code, sig) => {
      const exe = installedChromium(dir);
      if (code === 0 && exe) return resolve(exe);
      reject(
        new Error(
          `Installing Chromium with playwright's installer failed (${sig ? `killed by ${sig}` : `exit code ${code}`})${exe ? '' : ', and no browser was installed'}: ${tail.trim().split('\n').slice(-3).join(' / ')}`,
        ),
      );
    });
  });
}
