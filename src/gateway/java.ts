/**
 * Java for IB's gateway: JAVA_HOME, then `java` on the PATH, then a JRE that ibkr-mcp installed
 * under our cache (by itself at the first start of the managed gateway, or `setup --install-java`). IB needs Java 8 update 192 or newer.
 * Installing downloads a Temurin JRE from Adoptium and verifies its published SHA-256.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fetch } from 'undici';
import { commandFor } from '../config/command.js';
import { childEnv } from './child-env.js';
import { DownloadError, download, type ProgressFn, unzipTo } from './download.js';

export interface JavaVersion {
  /** As printed, e.g. "17.0.15" or "1.8.0_192". */
  version: string;
  major: number;
  /** Update number for Java 8 (192 in 1.8.0_192); 0 when absent. */
  update: number;
}

export interface JavaInfo extends JavaVersion {
  path: string;
  source: 'JAVA_HOME' | 'PATH' | 'ibkr-mcp';
}

/** Parses the first line of `java -version` (printed on stderr). */
export function parseJavaVersion(text: string): JavaVersion | undefined {
  const m = /(?:java|openjdk)\s+version\s+"([^"]+)"/i.exec(text) ?? /(?:java|openjdk)\s+(\d[\w.+-]*)/i.exec(text);
  if (!m) return undefined;
  const version = m[1]!;
  const legacy = /^1\.(\d+)(?:\.\d+)?(?:_(\d+))?/.exec(version);
  if (legacy) return { version, major: Number(legacy[1]), update: Number(legacy[2] ?? 0) };
  const modern = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version);
  if (!modern) return undefined;
  return { version, major: Number(modern[1]), update: Number(modern[3] ?? 0) };
}

/** IB: "Java 1.8 update 192 or higher". */
export function javaIsSupported(v: JavaVersion): boolean {
  if (v.major > 8) return true;
  return v.major === 8 && v.update >= 192;
}

const exe = (name: string) => (process.platform === 'win32' ? `${name}.exe` : name);

/**
 * Runs `java -version` (at most 15 s). Asynchronous so that a shutdown can cancel it: `signal`
 * kills the probe and rejects with the abort reason.
 */
export function probeJava(path: string, signal?: AbortSignal): Promise<JavaVersion | undefined> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // Our environment holds the IB password and TOTP secret; java needs none of it.
    execFile(
      path,
      ['-version'],
      { encoding: 'utf8', timeout: 15_000, windowsHide: true, env: childEnv(), signal, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (signal?.aborted) return reject(signal.reason);
        // As before: a non-zero exit still counts if a version was printed; not starting, or
        // running past the timeout, does not.
        if (err && typeof (err as { code?: unknown }).code !== 'number') return resolve(undefined);
        resolve(parseJavaVersion(`${stderr ?? ''}\n${stdout ?? ''}`));
      },
    );
  });
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const d of (env['PATH'] ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, exe(name));
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Folder of JREs installed by `setup --install-java`. */
export function javaCacheDir(cacheDir: string): string {
  return join(cacheDir, 'java');
}

function installedJavas(cacheDir: string): string[] {
  const root = javaCacheDir(cacheDir);
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const d of readdirSync(root)) {
    for (const bin of [join(root, d, 'bin', exe('java')), join(root, d, 'Contents', 'Home', 'bin', exe('java'))]) {
      if (existsSync(bin)) out.push(bin);
    }
  }
  return out.sort().reverse();
}

export interface FindJavaResult {
  java?: JavaInfo;
  /** Javas that were found but are too old or did not run. */
  rejected: string[];
}

export async function findJava(
  opts: { env?: NodeJS.ProcessEnv; cacheDir?: string; signal?: AbortSignal } = {},
): Promise<FindJavaResult> {
  const env = opts.env ?? process.env;
  const rejected: string[] = [];
  const candidates: Array<{ path: string; source: JavaInfo['source'] }> = [];
  if (env['JAVA_HOME']) candidates.push({ path: join(env['JAVA_HOME'], 'bin', exe('java')), source: 'JAVA_HOME' });
  const p = onPath('java', env);
  if (p) candidates.push({ path: p, source: 'PATH' });
  if (opts.cacheDir) for (const j of installedJavas(opts.cacheDir)) candidates.push({ path: j, source: 'ibkr-mcp' });
  for (const c of candidates) {
    if (!existsSync(c.path)) {
      rejected.push(`${c.path} (${c.source}): not found`);
      continue;
    }
    const v = await probeJava(c.path, opts.signal);
    if (!v) {
      rejected.push(`${c.path} (${c.source}): did not run`);
      continue;
    }
    if (!javaIsSupported(v)) {
      rejected.push(`${c.path} (${c.source}): version ${v.version} is too old; IB's gateway needs Java 8u192 or newer`);
      continue;
    }
    return { java: { ...v, path: c.path, source: c.source }, rejected };
  }
  return { rejected };
}

/** One paragraph on getting Java for this platform. */
export function javaInstallAdvice(platform: NodeJS.Platform = process.platform): string {
  const how =
    platform === 'darwin'
      ? 'On macOS: `brew install --cask temurin` (Homebrew), or the installer from adoptium.net.'
      : platform === 'win32'
        ? 'On Windows: `winget install EclipseAdoptium.Temurin.17.JRE`, or the installer from adoptium.net.'
        : 'On Debian/Ubuntu: `sudo apt-get install default-jre-headless`; on Fedora: `sudo dnf install java-17-openjdk-headless`; on Alpine: `apk add openjdk17-jre-headless`.';
  return (
    "IB's Client Portal gateway is a Java program and needs Java 8 (update 192) or newer, which was not found " +
    `(looked at JAVA_HOME, java on the PATH and ibkr-mcp's own cache). ${how} ` +
    `Or run \`${commandFor('setup --install-java')}\`, which downloads a Temurin JRE from Adoptium into the ibkr-mcp cache and verifies its published SHA-256. ` +
    `Then run \`${commandFor('doctor')}\` to check.`
  );
}

export function adoptiumPlatform(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): { os: string; arch: string } {
  const os =
    platform === 'darwin' ? 'mac' : platform === 'win32' ? 'windows' : platform === 'linux' ? 'linux' : undefined;
  const a =
    arch === 'x64'
      ? 'x64'
      : arch === 'arm64'
        ? 'aarch64'
        : arch === 'arm'
          ? 'arm'
          : arch === 'ppc64'
            ? 'ppc64le'
            : undefined;
  if (!os || !a) throw new DownloadError(`No Temurin JRE is published for ${platform}/${arch}.`);
  return { os, arch: a };
}

interface AdoptiumAsset {
  binary?: { package?: { link?: string; checksum?: string; name?: string; size?: number } };
  release_name?: string;
}

/**
 * Downloads the latest Temurin 17 JRE for this platform from `base` (Adoptium's API),
 * verifies the SHA-256 the API publishes, and unpacks it under the cache. Returns its java.
 */
export async function installJava(opts: {
  base: string;
  cacheDir: string;
  platform?: NodeJS.Platform;
  arch?: string;
  featureVersion?: number;
  progress?: ProgressFn;
  log?: (line: string) => void;
  /** Cancels the install (a shutdown). */
  signal?: AbortSignal;
}): Promise<JavaInfo> {
  const { os, arch } = adoptiumPlatform(opts.platform, opts.arch);
  const feature = opts.featureVersion ?? 17;
  const api = `${opts.base.replace(/\/+$/, '')}/v3/assets/latest/${feature}/hotspot?architecture=${arch}&image_type=jre&os=${os}&vendor=eclipse`;
  opts.log?.(`Asking Adoptium for the Temurin ${feature} JRE for ${os}/${arch}: ${api}`);
  let assets: AdoptiumAsset[];
  try {
    const res = await fetch(api, {
      signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    assets = (await res.json()) as AdoptiumAsset[];
  } catch (err) {
    throw new DownloadError(`Could not read the JRE list from ${api}: ${(err as Error).message}.`);
  }
  const pkg = Array.isArray(assets) ? assets[0]?.binary?.package : undefined;
  const release = (Array.isArray(assets) ? assets[0]?.release_name : undefined) ?? `temurin-${feature}-jre`;
  if (!pkg?.link || !pkg.checksum || !/^[0-9a-f]{64}$/i.test(pkg.checksum) || !pkg.name) {
    throw new DownloadError(
      `Adoptium's answer from ${api} has no download link with a SHA-256; nothing was installed.`,
    );
  }
  if (!/^[\w.+-]+$/.test(release) || !/^[\w.+-]+$/.test(pkg.name)) {
    throw new DownloadError(`Adoptium's answer names an unexpected file (${pkg.name}); nothing was installed.`);
  }
  const root = javaCacheDir(opts.cacheDir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const archive = join(opts.cacheDir, 'downloads', pkg.name);
  opts.log?.(`Downloading ${pkg.link}`);
  await download(pkg.link, archive, { sha256: pkg.checksum, progress: opts.progress, signal: opts.signal });
  opts.signal?.throwIfAborted();
  opts.log?.(`SHA-256 verified: ${pkg.checksum.toLowerCase()}`);
  const tmp = join(root, `.unpack-${process.pid}-${Date.now()}`);
  const final = join(root, release);
  try {
    if (pkg.name.endsWith('.zip')) {
      unzipTo(archive, tmp);
    } else if (pkg.name.endsWith('.tar.gz') || pkg.name.endsWith('.tgz')) {
      mkdirSync(tmp, { recursive: true });
      const r = spawnSync('tar', ['-xzf', archive, '-C', tmp], { encoding: 'utf8', timeout: 300_000, env: childEnv() });
      if (r.status !== 0) throw new DownloadError(`tar could not unpack ${archive}: ${r.stderr || r.error?.message}`);
    } else {
      throw new DownloadError(`Unknown archive type ${pkg.name}.`);
    }
    // Archives hold one top folder (jdk-17.0.x+y-jre); use it if present.
    const entries = readdirSync(tmp);
    const inner = entries.length === 1 ? join(tmp, entries[0]!) : tmp;
    rmSync(final, { recursive: true, force: true });
    renameSync(inner, final);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(archive, { force: true });
  }
  for (const bin of [join(final, 'bin', exe('java')), join(final, 'Contents', 'Home', 'bin', exe('java'))]) {
    if (!existsSync(bin)) continue;
    const v = await probeJava(bin);
    if (v && javaIsSupported(v)) return { ...v, path: bin, source: 'ibkr-mcp' };
    throw new DownloadError(`The installed JRE at ${bin} does not run on this machine.`);
  }
  throw new DownloadError(`The JRE archive did not contain bin/java; nothing usable was installed.`);
}
