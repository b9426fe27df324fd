/**
 * Optional npm packages, installed on first use: playwright-core (headless login) and
 * @resvg/resvg-js (chart images, with a native binary per platform) together are ~18 MB, which
 * every install would carry although most users never use them. They are optional peer
 * dependencies of ibkr-mcp (package.json): found where Node finds our own dependencies (a
 * development checkout, the .mcpb bundle, or a user's own `npm install`), else in ibkr-mcp's cache,
 * else installed there once with the npm that comes with Node, at the pinned version, without
 * install scripts, and checked against the integrity our package-lock.json records for every
 * package the install brought (a mismatch deletes the install and fails).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { childEnv } from './child-env.js';
import { OPTIONAL_PACKAGES, type OptionalPackage } from './npm-pins.js';

export { OPTIONAL_PACKAGES, type OptionalPackage } from './npm-pins.js';

/** Where the cache keeps installed npm packages. */
export function packagesDir(cacheDir: string): string {
  return join(cacheDir, 'npm');
}

/** The folder one pinned package is installed into (its own package.json and node_modules). */
export function packageRoot(cacheDir: string, name: OptionalPackage): string {
  return join(packagesDir(cacheDir), `${name.replace('/', '+')}@${OPTIONAL_PACKAGES[name].version}`);
}

export interface FoundPackage {
  /** The entry point `require`/`import` loads. */
  entry: string;
  /** The package's folder. */
  dir: string;
}

function resolveFrom(from: string, name: string): FoundPackage | undefined {
  try {
    const req = createRequire(from);
    return { entry: req.resolve(name), dir: dirname(req.resolve(`${name}/package.json`)) };
  } catch {
    return undefined;
  }
}

/** The package where Node finds our dependencies, else in the cache; undefined when it is in neither. */
export function findPackage(
  name: OptionalPackage,
  cacheDir?: string,
  from: string = import.meta.url,
): FoundPackage | undefined {
  const own = resolveFrom(from, name);
  if (own) return own;
  if (!cacheDir) return undefined;
  const root = packageRoot(cacheDir, name);
  return existsSync(join(root, 'package.json')) ? resolveFrom(join(root, 'package.json'), name) : undefined;
}

/** The npm that comes with this Node: [node, npm-cli.js], else `npm` on the PATH. */
export function bundledNpm(execPath: string = process.execPath, env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [
    env['npm_execpath'],
    join(dirname(execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    join(dirname(execPath), 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  const cli = candidates.find((p) => p?.endsWith('npm-cli.js') && existsSync(p));
  if (cli) return [execPath, cli];
  return [process.platform === 'win32' ? 'npm.cmd' : 'npm'];
}

/** Every installed package of a lockfile whose integrity is not the pinned one (empty: all match). */
export function integrityMismatches(name: OptionalPackage, lock: unknown): string[] {
  const pins = OPTIONAL_PACKAGES[name].integrity as Record<string, string>;
  const packages = (lock as { packages?: Record<string, { integrity?: string; version?: string }> }).packages ?? {};
  const bad: string[] = [];
  let top = false;
  for (const [path, entry] of Object.entries(packages)) {
    if (!path.startsWith('node_modules/')) continue;
    const pkg = path.slice('node_modules/'.length);
    if (pkg === name) top = true;
    if (pins[pkg] === undefined || pins[pkg] !== entry.integrity) bad.push(`${pkg}@${entry.version ?? '?'}`);
  }
  if (!top) bad.push(`${name} (not installed)`);
  return bad;
}

/** What to tell a user who has to install a package by hand. */
export function manualInstall(cacheDir: string, name: OptionalPackage): string {
  return `npm install --prefix "${packageRoot(cacheDir, name)}" --ignore-scripts ${name}@${OPTIONAL_PACKAGES[name].version}`;
}

export interface InstallOptions {
  cacheDir: string;
  progress?: (line: string) => void;
  signal?: AbortSignal;
  /** Replaces the npm command (tests). */
  command?: string[];
  /** Where Node resolves our own dependencies from (tests). */
  from?: string;
  timeoutMs?: number;
}

/**
 * Installs one pinned package into the cache (a temporary folder, renamed into place once its
 * integrity is checked) and returns where it is. Throws an Error that says what failed and how to
 * install the package by hand.
 */
export async function installPackage(name: OptionalPackage, opts: InstallOptions): Promise<FoundPackage> {
  const { version } = OPTIONAL_PACKAGES[name];
  const root = packageRoot(opts.cacheDir, name);
  const tmp = `${root}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const fail = (why: string) =>
    new Error(
      `Installing ${name}@${version} into ibkr-mcp's cache failed: ${why}. Install it by hand with: ${manualInstall(opts.cacheDir, name)}`,
    );
  try {
    writeFileSync(
      join(tmp, 'package.json'),
      `${JSON.stringify({ name: 'ibkr-mcp-optional', private: true, dependencies: { [name]: version } }, null, 2)}\n`,
    );
    opts.progress?.(`Installing ${name}@${version} (once, into ibkr-mcp's cache) with npm.`);
    const [cmd, ...pre] = opts.command ?? bundledNpm();
    const args = [...pre, 'install', '--omit=dev', '--omit=peer', '--ignore-scripts', '--no-audit', '--no-fund'];
    const tail = await new Promise<string>((resolve, reject) => {
      const child = spawn(cmd!, [...args, '--loglevel=error'], {
        cwd: tmp,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
        shell: process.platform === 'win32' && !cmd!.endsWith('.exe'),
        ...(opts.signal ? { signal: opts.signal } : {}),
        timeout: opts.timeoutMs ?? 300_000,
        killSignal: 'SIGKILL',
      });
      let out = '';
      const keep = (d: Buffer) => {
        out = `${out}${d.toString()}`.slice(-2000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', (err) => reject(fail(`npm did not run (${err.message})`)));
      child.on('exit', (code, sig) => {
        const last = out.trim().split('\n').slice(-3).join(' / ');
        if (code === 0) resolve(last);
        else reject(fail(`npm ${sig ? `was killed by ${sig}` : `exited with ${code}`}${last ? `: ${last}` : ''}`));
      });
    });
    const lockFile = join(tmp, 'package-lock.json');
    if (!existsSync(lockFile)) throw fail(`npm wrote no package-lock.json${tail ? ` (${tail})` : ''}`);
    const bad = integrityMismatches(name, JSON.parse(readFileSync(lockFile, 'utf8')));
    if (bad.length) throw fail(`integrity differs from the pinned one for ${bad.join(', ')}`);
    try {
      renameSync(tmp, root);
    } catch (err) {
      // Another process installed it meanwhile: use that one.
      if (!existsSync(join(root, 'package.json'))) throw err;
    }
    const found = findPackage(name, opts.cacheDir, join(root, 'package.json'));
    if (!found) throw fail('the installed package cannot be loaded');
    opts.progress?.(`Installed ${name}@${version}.`);
    return found;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The package, installing it into the cache on first use. */
export async function ensurePackage(name: OptionalPackage, opts: InstallOptions): Promise<FoundPackage> {
  return findPackage(name, opts.cacheDir, opts.from) ?? installPackage(name, opts);
}
