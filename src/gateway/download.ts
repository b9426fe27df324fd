/**
 * Downloads with progress and SHA-256, and a minimal zip reader (central directory, stored
 * and deflated entries, CRC-checked, no zip64) so unpacking needs nothing but Node.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { fetch } from 'undici';

export type ProgressFn = (done: number, total: number | undefined) => void;

/** Progress lines on a stream (stderr by default): at most one per 10 % or per 2 s when the size is unknown. */
export function progressPrinter(
  label: string,
  write: (s: string) => void = (s) => process.stderr.write(s),
): ProgressFn {
  let lastPct = -10;
  let lastAt = 0;
  return (done, total) => {
    const mb = (done / 1048576).toFixed(1);
    if (total && total > 0) {
      const pct = Math.floor((done / total) * 100);
      if (pct >= lastPct + 10 || done === total) {
        lastPct = pct;
        write(`${label}: ${pct}% (${mb} of ${(total / 1048576).toFixed(1)} MB)\n`);
      }
    } else if (Date.now() - lastAt > 2000) {
      lastAt = Date.now();
      write(`${label}: ${mb} MB\n`);
    }
  };
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

/**
 * Streams `url` into `dest` (via a .part file), hashing as it goes. Throws on HTTP errors or a
 * hash mismatch. `signal` cancels it (a shutdown): the connection is dropped, the .part file
 * removed, and the abort reason thrown.
 */
export async function download(
  url: string,
  dest: string,
  opts: { sha256?: string; progress?: ProgressFn; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ sha256: string; bytes: number }> {
  opts.signal?.throwIfAborted();
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 600_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    opts.signal?.throwIfAborted();
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new DownloadError(`Could not download ${url}: ${why}. Check the network, or the download address.`);
  }
  if (!res.ok || !res.body) throw new DownloadError(`Could not download ${url}: HTTP ${res.status}.`);
  const total = Number(res.headers.get('content-length')) || undefined;
  const hash = createHash('sha256');
  const out = createWriteStream(part, { mode: 0o600 });
  let bytes = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Uint8Array;
      hash.update(buf);
      bytes += buf.length;
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      opts.progress?.(bytes, total);
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    out.destroy();
    rmSync(part, { force: true });
    opts.signal?.throwIfAborted();
    throw new DownloadError(`Download of ${url} broke off after ${bytes} bytes: ${(err as Error).message}.`);
  }
  if (total !== undefined && bytes !== total) {
    rmSync(part, { force: true });
    throw new DownloadError(`Download of ${url} is incomplete: ${bytes} of ${total} bytes.`);
  }
  const sha256 = hash.digest('hex');
  if (opts.sha256 && opts.sha256.toLowerCase() !== sha256) {
    rmSync(part, { force: true });
    throw new DownloadError(
      `The file from ${url} has SHA-256 ${sha256}, expected ${opts.sha256.toLowerCase()}. It was deleted; nothing was installed.`,
    );
  }
  renameSync(part, dest);
  return { sha256, bytes };
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export interface ZipEntry {
  name: string;
  dir: boolean;
  mode: number | undefined;
  data?: Buffer;
}

/** Reads every entry of a zip archive held in memory. Throws on anything malformed or unsafe. */
export function readZip(buf: Buffer): ZipEntry[] {
  const bad = (why: string) => new DownloadError(`The archive is not a valid zip file (${why}).`);
  // End of central directory: the last 0x06054b50 within the final 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw bad('zip64 is not supported');
  if (cdOffset + cdSize > eocd) throw bad('central directory out of bounds');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw bad('broken central directory');
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const attrs = buf.readUInt32LE(p + 38);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw bad(`encrypted entry ${name}`);
    const clean = name.replace(/\\/g, '/');
    if (clean.startsWith('/') || /^[A-Za-z]:/.test(clean) || clean.split('/').includes('..')) {
      throw bad(`unsafe path ${name}`);
    }
    const unixMode = madeBy === 3 ? (attrs >>> 16) & 0xffff : undefined;
    if (unixMode !== undefined && (unixMode & 0o170000) === 0o120000) throw bad(`symbolic link ${name}`);
    const dir = clean.endsWith('/');
    if (dir) {
      entries.push({ name: clean, dir, mode: unixMode });
      continue;
    }
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw bad(`broken local header of ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + compSize > buf.length) throw bad(`truncated entry ${name}`);
    const raw = buf.subarray(start, start + compSize);
    let data: Buffer;
    try {
      if (method === 0) data = Buffer.from(raw);
      else if (method === 8) data = inflateRawSync(raw);
      else throw bad(`compression method ${method} of ${name}`);
    } catch (err) {
      if (err instanceof DownloadError) throw err;
      throw bad(`cannot inflate ${name}`);
    }
    if (data.length !== size || crc32(data) !== crc) throw bad(`checksum mismatch in ${name}`);
    entries.push({ name: clean, dir, mode: unixMode, data });
  }
  return entries;
}

/** Unpacks a zip file into `dest` (which must not exist yet). */
export function unzipTo(file: string, dest: string): void {
  const entries = readZip(readFileSync(file));
  mkdirSync(dest, { recursive: true });
  const root = normalize(dest) + sep;
  for (const e of entries) {
    const target = normalize(join(dest, e.name));
    if (!(target + (e.dir ? '' : sep)).startsWith(root) && target + sep !== root) {
      throw new DownloadError(`The archive entry ${e.name} points outside the target folder.`);
    }
    if (e.dir) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    const exec = e.mode !== undefined && (e.mode & 0o111) !== 0;
    writeFileSync(target, e.data ?? Buffer.alloc(0), { mode: exec ? 0o755 : 0o644 });
  }
}
