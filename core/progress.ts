/**
 * A terminal progress bar with rate and ETA, for anything longer than a few seconds.
 *
 * On a TTY it redraws one line; elsewhere (CI logs, pipes) it prints a line at every 10 %
 * so logs stay short.
 *
 * @module
 */

/** Where progress goes; tests pass their own to capture it. */
export interface ProgressSink {
  /** True when the sink can redraw a line in place. */
  isTerminal(): boolean;
  /** Writes text as is (no newline added). */
  write(text: string): void;
}

const stderrSink: ProgressSink = {
  isTerminal: () => Deno.stderr.isTerminal(),
  write: (text) => {
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  },
};

/**
 * Formats seconds as `1h02m`, `3m05s` or `12.3s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { formatSeconds } from "./progress.ts";
 * assert(formatSeconds(185) === "3m05s");
 * ```
 */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * Progress over a known number of steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Progress } from "./progress.ts";
 * const lines: string[] = [];
 * const bar = new Progress("decode", 4, { sink: { isTerminal: () => false, write: (t) => lines.push(t) } });
 * for (let i = 0; i < 4; i++) bar.tick(1, `img ${i}`);
 * bar.done();
 * assert(lines.at(-1)!.includes("4/4"));
 * ```
 */
export class Progress {
  readonly label: string;
  readonly total: number;
  #done = 0;
  #startMs = performance.now();
  #lastDecile = -1;
  #sink: ProgressSink;
  #finished = false;

  /**
   * @param label what is being done, shown first.
   * @param total number of steps (images, batches, …).
   */
  constructor(label: string, total: number, options: { sink?: ProgressSink } = {}) {
    this.label = label;
    this.total = Math.max(0, total);
    this.#sink = options.sink ?? stderrSink;
  }

  /** Seconds since the bar was created. */
  get elapsedSeconds(): number {
    return (performance.now() - this.#startMs) / 1000;
  }

  /** Advances by `steps`; `status` is a short note shown after the bar (loss, file, …). */
  tick(steps = 1, status = ""): void {
    this.#done = Math.min(this.total, this.#done + steps);
    if (this.#sink.isTerminal()) {
      this.#sink.write(`\r\x1b[2K${this.#line(status)}`);
      return;
    }
    const decile = this.total === 0 ? 10 : Math.floor((10 * this.#done) / this.total);
    if (decile > this.#lastDecile) {
      this.#lastDecile = decile;
      this.#sink.write(`${this.#line(status)}\n`);
    }
  }

  /** Ends the bar's line; further ticks are ignored by the terminal redraw. */
  done(status = ""): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#sink.isTerminal()) this.#sink.write(`\r\x1b[2K${this.#line(status)}\n`);
    else if (this.#lastDecile < 10 || status) this.#sink.write(`${this.#line(status)}\n`);
  }

  #line(status: string): string {
    const width = 24;
    const fraction = this.total === 0 ? 1 : this.#done / this.total;
    const filled = Math.round(fraction * width);
    const elapsed = this.elapsedSeconds;
    const rate = this.#done / Math.max(elapsed, 1e-9);
    const eta = this.#done === 0 ? Infinity : (this.total - this.#done) / rate;
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const tail = status ? ` ${status}` : "";
    return `${this.label} [${bar}] ${this.#done}/${this.total} ${rate.toFixed(1)}/s ` +
      `elapsed ${formatSeconds(elapsed)} eta ${formatSeconds(eta)}${tail}`;
  }
}
