/**
 * Seeded pseudo-random numbers for the simulator (written for this project).
 *
 * - `Rng` is a sequential generator (sfc32 core) for things like session ids.
 * - `hash32` / `unitHash` are stateless integer mixers: the same inputs always give
 *   the same output, which lets prices and bars be computed for any instant
 *   without replaying a sequence (deterministic for a seed and a time).
 */

/** Mixes 32-bit integers into one 32-bit unsigned hash (murmur3-style finaliser per part). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9 ^ parts.length;
  for (const part of parts) {
    // Split numbers that may exceed 32 bits into two words so nothing is lost.
    const lo = part | 0;
    const hi = Math.floor(part / 4294967296) | 0;
    h = mixWord(h, lo);
    if (hi !== 0 && hi !== -1) h = mixWord(h, hi);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixWord(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

/** Deterministic value in [0, 1) for the given integer parts. */
export function unitHash(...parts: number[]): number {
  return hash32(...parts) / 4294967296;
}

/** FNV-1a hash of a string (32-bit unsigned). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Small sequential PRNG (sfc32), seeded from one number. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = hash32(seed, 1);
    this.b = hash32(seed, 2);
    this.c = hash32(seed, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** `n` lowercase hex characters. */
  hex(n: number): string {
    let out = '';
    while (out.length < n) out += this.nextUint32().toString(16).padStart(8, '0');
    return out.slice(0, n);
  }
}
