/**
 * The one way randomness enters a metric: a {@link Draws} source with numpy's call shapes
 * (`uniform(low, high, size)`, `choice(n, size, replace=False)`, …).
 *
 * Metrics draw in the same calls, sizes and order as Quantus, so a replay of the draws Quantus
 * recorded ({@link ReplayDraws}) reproduces its scores exactly, while ordinary runs use a
 * seeded stream ({@link SeededDraws}) and stay reproducible byte for byte.
 *
 * @module
 */
import { type Random, SeededRandom } from "../../core/random.ts";

/** A source of random arrays with numpy's semantics. */
export interface Draws {
  /** `count` floats uniform in [low, high) (`numpy.random.uniform`). */
  uniform(low: number, high: number, count: number): Float64Array;
  /** `count` normal deviates with the given mean and standard deviation (`numpy.random.normal`). */
  normal(mean: number, std: number, count: number): Float64Array;
  /** `count` integers uniform in [low, high) (`numpy.random.randint`). */
  randint(low: number, high: number, count: number): Int32Array;
  /** `count` distinct integers from [0, n) in random order (`numpy.random.choice(n, count, replace=False)`). */
  choiceWithoutReplacement(n: number, count: number): Int32Array;
  /** Restarts the stream from `seed`, as a metric that calls `numpy.random.seed(seed)` does. */
  reseed(seed: number): void;
}

/**
 * Draws from the project's seeded generator ({@link SeededRandom}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededDraws } from "./draws.ts";
 * const a = new SeededDraws(1).choiceWithoutReplacement(10, 4);
 * assert(a.join() === new SeededDraws(1).choiceWithoutReplacement(10, 4).join());
 * assert(new Set(a).size === 4 && a.every((v) => v >= 0 && v < 10));
 * ```
 */
export class SeededDraws implements Draws {
  #random: Random;

  /** @param seed equal seeds give equal draws. */
  constructor(seed: number) {
    this.#random = new SeededRandom(seed);
  }

  // Plain loops: `TypedArray.from` with a mapping function is 4x slower in V8, and
  // MaxSensitivity draws a million values per image.
  uniform(low: number, high: number, count: number): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = low + (high - low) * this.#random.uniform();
    return out;
  }

  normal(mean: number, std: number, count: number): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = mean + std * this.#random.normal();
    return out;
  }

  randint(low: number, high: number, count: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = low + Math.floor(this.#random.uniform() * (high - low));
    }
    return out;
  }

  choiceWithoutReplacement(n: number, count: number): Int32Array {
    if (count > n) throw new RangeError(`cannot choose ${count} of ${n} without replacement`);
    // Partial Fisher–Yates: the first `count` slots of a shuffle, O(n) memory, O(count) draws.
    const pool = new Int32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.#random.uniform() * (n - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, count);
  }

  reseed(seed: number): void {
    this.#random = new SeededRandom(seed);
  }
}

/** One recorded numpy call: its function name and the values it returned (flat). */
export interface RecordedDraw {
  /** `uniform`, `normal`, `randn`, `randint`, `choice` or `seed`. */
  fn: string;
  /** The returned values, flat in C order (empty for `seed`). */
  values: ArrayLike<number>;
}

/**
 * Replays recorded draws in order; each call must match the next record's kind and size, so a
 * metric whose draw order drifts from Quantus's fails loudly instead of scoring silently wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ReplayDraws } from "./draws.ts";
 * const draws = new ReplayDraws([{ fn: "seed", values: [] }, { fn: "randint", values: [2, 0] }]);
 * draws.reseed(42);
 * assert(draws.randint(0, 3, 2).join() === "2,0" && draws.remaining === 0);
 * ```
 */
export class ReplayDraws implements Draws {
  readonly #records: readonly RecordedDraw[];
  #next = 0;

  /** @param records the used draws, in call order. */
  constructor(records: readonly RecordedDraw[]) {
    this.#records = records;
  }

  /** How many records have not been replayed yet. */
  get remaining(): number {
    return this.#records.length - this.#next;
  }

  #take(kinds: readonly string[], count: number): ArrayLike<number> & { fn: string } {
    const record = this.#records[this.#next];
    if (!record) {
      throw new Error(`replay: asked for ${kinds[0]} x${count} after all records were used`);
    }
    if (!kinds.includes(record.fn) || (record.fn !== "seed" && record.values.length !== count)) {
      throw new Error(
        `replay: call ${this.#next} asked for ${kinds.join("/")} x${count}, ` +
          `but Quantus drew ${record.fn} x${record.values.length}`,
      );
    }
    this.#next++;
    return Object.assign(Array.from(record.values), { fn: record.fn });
  }

  uniform(_low: number, _high: number, count: number): Float64Array {
    return Float64Array.from(this.#take(["uniform"], count));
  }

  normal(mean: number, std: number, count: number): Float64Array {
    const values = this.#take(["normal", "randn"], count);
    // `normal` records hold the scaled values; `randn` records standard ones.
    return values.fn === "randn"
      ? Float64Array.from(values, (v) => mean + std * v)
      : Float64Array.from(values);
  }

  randint(_low: number, _high: number, count: number): Int32Array {
    return Int32Array.from(this.#take(["randint"], count));
  }

  choiceWithoutReplacement(_n: number, count: number): Int32Array {
    return Int32Array.from(this.#take(["choice"], count));
  }

  reseed(_seed: number): void {
    this.#take(["seed"], 0);
  }
}
