/**
 * Seeded randomness: the one source every random choice in the project goes through.
 *
 * Nothing calls `Math.random`. A {@link Random} is passed down explicitly; components that
 * need independent streams {@link Random.fork} one by name, so adding draws in one place
 * never shifts the draws of another, and runs are reproducible byte for byte.
 *
 * @module
 */

/** A source of random numbers. Implementations: {@link SeededRandom}; tests may replay recorded draws. */
export interface Random {
  /** A float uniformly distributed in [0, 1). */
  uniform(): number;
  /** A standard normal deviate (mean 0, standard deviation 1). */
  normal(): number;
  /** An independent stream derived from this one's seed and `label`; does not consume draws. */
  fork(label: string | number): Random;
}

/** 32-bit FNV-1a hash of a string, used to derive stream seeds from labels. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** SplitMix32 finaliser: spreads a 32-bit seed over the generator state. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * sfc32 (Small Fast Counting), a 128-bit-state generator that passes PractRand;
 * chosen for speed in plain JS integer arithmetic.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "./random.ts";
 * const a = new SeededRandom(42), b = new SeededRandom(42);
 * assert(a.uniform() === b.uniform());
 * const noise = a.fork("noise"); // independent of a's further draws
 * assert(noise.normal() === new SeededRandom(42).fork("noise").normal());
 * ```
 */
export class SeededRandom implements Random {
  readonly seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spareNormal: number | undefined;

  /** @param seed any integer; equal seeds give equal streams. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) {
      throw new RangeError(`SeededRandom: seed must be finite, got ${seed}`);
    }
    this.seed = Math.trunc(seed) >>> 0;
    this.#a = mix32(this.seed);
    this.#b = mix32(this.#a);
    this.#c = mix32(this.#b);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.#next32();
  }

  #next32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  uniform(): number {
    return this.#next32() / 4294967296;
  }

  normal(): number {
    if (this.#spareNormal !== undefined) {
      const z = this.#spareNormal;
      this.#spareNormal = undefined;
      return z;
    }
    // Marsaglia polar method: exact normal deviates in pairs, no trig.
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spareNormal = v * f;
    return u * f;
  }

  fork(label: string | number): SeededRandom {
    const h = typeof label === "number" ? mix32(label >>> 0) : hashLabel(label);
    return new SeededRandom(mix32(this.seed ^ h) ^ Math.imul(h, 0x27d4eb2d));
  }
}

/**
 * A uniform integer in [0, n).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { randomInt, SeededRandom } from "./random.ts";
 * const k = randomInt(new SeededRandom(1), 6);
 * assert(k >= 0 && k < 6);
 * ```
 */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random.uniform() * n);
}

/**
 * A uniform float in [low, high).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { randomBetween, SeededRandom } from "./random.ts";
 * const x = randomBetween(new SeededRandom(1), -3, 3);
 * assert(x >= -3 && x < 3);
 * ```
 */
export function randomBetween(random: Random, low: number, high: number): number {
  return low + (high - low) * random.uniform();
}

/**
 * Shuffles `items` in place (Fisher–Yates) and returns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { shuffle, SeededRandom } from "./random.ts";
 * const order = shuffle(new SeededRandom(7), [1, 2, 3, 4]);
 * assert(order.length === 4);
 * ```
 */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
