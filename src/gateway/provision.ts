/**
 * Where IB's Client Portal gateway comes from: a folder the user names (--gateway-dir), or
 * IB's official archive downloaded once into our cache, checked (expected files, SHA-256 pin)
 * and unpacked there. Nothing here ever starts or adopts a running service.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DownloadError, download, type ProgressFn, unzipTo } from './download.js';

export const GATEWAY_ARCHIVE = 'clientportal.gw.zip';
export const GATEWAY_MAIN_CLASS = 'ibgroup.web.core.clientportal.gw.GatewayStart';
const JAR_PREFIX = 'ibgroup.web.core.iblink.router.clientportal.gw';

/**
 * The cache folder: under IBKR_MCP_HOME (or --home) when one is set, else the platform's
 * cache location (~/.cache/ibkr-mcp, ~/Library/Caches/ibkr-mcp, %LOCALAPPDATA%\ibkr-mcp\Cache).
 */
export function cacheDir(home: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const defaultHome = resolve(homedir(), '.ibkr-mcp');
  if (resolve(home) !== defaultHome) return join(home, 'cache');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'ibkr-mcp');
  if (platform === 'win32')
    return join(env['LOCALAPPDATA'] ?? join(homedir(), 'AppData', 'Local'), 'ibkr-mcp', 'Cache');
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'ibkr-mcp');
}

export interface GatewayLayout {
  dir: string;
  jar: string;
  runtimeDir: string;
  rootDir: string;
}

/** Checks that `dir` is an unpacked gateway distribution; returns what is missing, or its layout. */
export function checkGatewayDir(dir: string): { ok: true; layout: GatewayLayout } | { ok: false; missing: string[] } {
  const missing: string[] = [];
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) return { ok: false, missing: [`${abs} (the folder itself)`] };
  const distDir = join(abs, 'dist');
  const jarName = existsSync(distDir)
    ? readdirSync(distDir).find((f) => f.startsWith(JAR_PREFIX) && f.endsWith('.jar'))
    : undefined;
  if (!jarName) missing.push(`dist/${JAR_PREFIX}.jar`);
  const runtimeDir = join(abs, 'build', 'lib', 'runtime');
  const jars = existsSync(runtimeDir) ? readdirSync(runtimeDir).filter((f) => f.endsWith('.jar')) : [];
  if (jars.length === 0) missing.push('build/lib/runtime/*.jar');
  else if (!jars.some((f) => f.startsWith('vertx-core'))) missing.push('build/lib/runtime/vertx-core-*.jar');
  const rootDir = join(abs, 'root');
  if (!existsSync(join(rootDir, 'conf.yaml'))) missing.push('root/conf.yaml');
  if (!existsSync(join(rootDir, 'vertx.jks'))) missing.push('root/vertx.jks (the TLS certificate)');
  if (missing.length > 0 || !jarName) return { ok: false, missing };
  return { ok: true, layout: { dir: abs, jar: join(distDir, jarName), runtimeDir, rootDir } };
}

/** Finds the distribution inside an unpacked archive: the folder itself or its only subfolder. */
function findDistribution(dir: string): string | undefined {
  if (checkGatewayDir(dir).ok) return dir;
  for (const d of readdirSync(dir)) {
    const p = join(dir, d);
    if (statSync(p).isDirectory() && checkGatewayDir(p).ok) return p;
  }
  return undefined;
}

export interface ProvisionOptions {
  /** --gateway-dir: used as is, never modified. */
  gatewayDir?: string;
  home: string;
  downloadBase: string;
  /** --gateway-sha256: the archive must have this hash. */
  sha256?: string;
  progress?: ProgressFn;
  log?: (line: string) => void;
  /** Download again even when the cache holds a gateway. */
  refresh?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Cancels provisioning (a shutdown): checked between stages, and it aborts the download. */
  signal?: AbortSignal;
}

export interface ProvisionResult {
  layout: GatewayLayout;
  source: 'gateway-dir' | 'cache' | 'downloaded';
  sha256?: string;
}

interface CacheMark {
  sha256: string;
  url: string;
  at: string;
}

export function gatewayCachePaths(home: string, env?: NodeJS.ProcessEnv) {
  const cache = cacheDir(home, env);
  return {
    cache,
    dir: join(cache, 'gateway', 'clientportal.gw'),
    mark: join(cache, 'gateway', 'installed.json'),
    pin: join(cache, 'gateway', 'pinned.sha256'),
    archive: join(cache, 'downloads', GATEWAY_ARCHIVE),
  };
}

/** The gateway to run: the user's folder, the cached one, or a fresh verified download. */
export async function provisionGateway(opts: ProvisionOptions): Promise<ProvisionResult> {
  const log = opts.log ?? (() => {});
  if (opts.gatewayDir) {
    const check = checkGatewayDir(opts.gatewayDir);
    if (!check.ok) {
      throw new DownloadError(
        `--gateway-dir ${resolve(opts.gatewayDir)} is not an unpacked Client Portal gateway; missing: ${check.missing.join(', ')}. ` +
          'Point it at the folder that holds bin/, build/, dist/ and root/, or leave it out to let ibkr-mcp download the gateway.',
      );
    }
    return { layout: check.layout, source: 'gateway-dir' };
  }
  const paths = gatewayCachePaths(opts.home, opts.env);
  const pinned = existsSync(paths.pin) ? readFileSync(paths.pin, 'utf8').trim().toLowerCase() : undefined;
  const wanted = opts.sha256?.toLowerCase() ?? pinned;
  if (!opts.refresh && existsSync(paths.mark)) {
    const check = checkGatewayDir(paths.dir);
    let mark: CacheMark | undefined;
    try {
      mark = JSON.parse(readFileSync(paths.mark, 'utf8')) as CacheMark;
    } catch {
      mark = undefined;
    }
    if (check.ok && mark && (!opts.sha256 || mark.sha256 === opts.sha256.toLowerCase())) {
      return { layout: check.layout, source: 'cache', sha256: mark.sha256 };
    }
    log('The cached gateway is incomplete or does not match --gateway-sha256; downloading it again.');
  }

  const url = `${opts.downloadBase.replace(/\/+$/, '')}/${GATEWAY_ARCHIVE}`;
  log(`Downloading IB's Client Portal gateway from ${url}`);
  mkdirSync(paths.cache, { recursive: true, mode: 0o700 });
  let got: { sha256: string; bytes: number };
  try {
    got = await download(url, paths.archive, { sha256: wanted, progress: opts.progress, signal: opts.signal });
  } catch (err) {
    if (err instanceof DownloadError && wanted && /expected/.test(err.message)) {
      throw new DownloadError(
        `${err.message} ${opts.sha256 ? 'It does not match --gateway-sha256.' : `It does not match the hash pinned at the first download (${paths.pin}).`} ` +
          'If IB has published a new gateway and you trust the download address, pass the new hash with --gateway-sha256.',
      );
    }
    throw err;
  }
  log(`Downloaded ${(got.bytes / 1048576).toFixed(1)} MB, SHA-256 ${got.sha256}${wanted ? ' (matches the pin)' : ''}.`);

  const tmp = join(paths.cache, 'gateway', `.unpack-${process.pid}-${Date.now()}`);
  try {
    opts.signal?.throwIfAborted();
    rmSync(tmp, { recursive: true, force: true });
    unzipTo(paths.archive, tmp);
    // Unpacking is synchronous; a shutdown asked for meanwhile is honoured before installing.
    opts.signal?.throwIfAborted();
    const found = findDistribution(tmp);
    if (!found) {
      const check = checkGatewayDir(tmp);
      throw new DownloadError(
        `The archive from ${url} is not IB's Client Portal gateway (missing: ${check.ok ? '?' : check.missing.join(', ')}). Nothing was installed.`,
      );
    }
    rmSync(paths.dir, { recursive: true, force: true });
    mkdirSync(join(paths.cache, 'gateway'), { recursive: true });
    renameSync(found, paths.dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(paths.archive, { force: true });
  }
  if (!pinned || opts.sha256) writeFileSync(paths.pin, `${got.sha256}\n`, { mode: 0o600 });
  const mark: CacheMark = { sha256: got.sha256, url, at: new Date().toISOString() };
  writeFileSync(paths.mark, `${JSON.stringify(mark, null, 2)}\n`, { mode: 0o600 });
  const check = checkGatewayDir(paths.dir);
  if (!check.ok)
    throw new DownloadError(`The unpacked gateway at ${paths.dir} is incomplete: ${check.missing.join(', ')}.`);
  return { layout: check.layout, source: 'downloaded', sha256: got.sha256 };
}
