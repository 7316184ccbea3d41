/**
 * The torch-parity fixtures' acceptance rule for one attribution array (README of
 * `../shared/torch-parity`, "How close is close enough"): Pearson correlation >= 0.999, relative
 * L2 error <= max(10 x the recorded float32 noise floor, 1e-5), and max |a - b| <= 1e-4 max |b|
 * where the recorded outlier fraction is 0. Where PyTorch's own float32 result is further than that
 * from float64 (recorded `max_rel_err`), a port as close to float64 as PyTorch may be up to twice
 * that from PyTorch (triangle inequality): the element-wise bound is then 2 x `max_rel_err`.
 * Measured: only resnet18's `lrp_epsilon_gamma_box` (1.51e-4); ours is 9.36e-8 from PyTorch's
 * where PyTorch's is 9.37e-8 from float64.
 *
 * @module
 */

/** The fixture folder: `$TORCH_PARITY_DIR`, default `../shared/torch-parity`. */
export const PARITY_DIR = Deno.env.get("TORCH_PARITY_DIR") ?? "../shared/torch-parity";
const MIN_PEARSON = 0.999;
const MIN_REL_L2_TOLERANCE = 1e-5;
const NOISE_FLOOR_FACTOR = 10;
const ELEMENTWISE_REL_TOLERANCE = 1e-4;

/** One array's entry in the fixture JSON's `f32_vs_f64.results`: PyTorch's own float32 error. */
export interface NoiseFloor {
  rel_l2_err: number;
  "frac_err_gt_1e-3_of_max": number;
  /** max |f32 − f64| / max |f64|; absent in hand-made floors. */
  max_rel_err?: number;
}

/**
 * `fixture`: Pearson, then the fixture README's relative-L2 rule (and the element-wise check where
 * its outlier fraction is 0). `pearson-only`: the correlation requirement alone.
 */
export type AcceptanceRule = "fixture" | "pearson-only";

function pearson(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const [meanA, meanB] = [a.reduce((s, v) => s + v, 0) / n, b.reduce((s, v) => s + v, 0) / n];
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const [da, db] = [a[i] - meanA, b[i] - meanB];
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/**
 * Logs the figures for array `name` (ours against the fixture's `reference`); returns why it fails
 * the acceptance rule, if it does.
 *
 * @example
 * ```ts ignore
 * const why = arrayMismatch("resnet18", "layer_gradcam", ours, reference, floor, "fixture");
 * ```
 */
export function arrayMismatch(
  label: string,
  name: string,
  ours: Float32Array,
  reference: Float32Array,
  floor: NoiseFloor,
  rule: AcceptanceRule,
): string | undefined {
  if (ours.length !== reference.length) {
    return `${name}: ${ours.length} values, the fixture has ${reference.length}`;
  }
  let [diff2, ref2, maxDiff, maxRef] = [0, 0, 0, 0];
  for (let i = 0; i < ours.length; i++) {
    const d = ours[i] - reference[i];
    diff2 += d * d;
    ref2 += reference[i] * reference[i];
    maxDiff = Math.max(maxDiff, Math.abs(d));
    maxRef = Math.max(maxRef, Math.abs(reference[i]));
  }
  const relL2 = Math.sqrt(diff2 / ref2);
  const threshold = Math.max(NOISE_FLOOR_FACTOR * floor.rel_l2_err, MIN_REL_L2_TOLERANCE);
  const r = pearson(ours, reference);
  const elementwise = floor["frac_err_gt_1e-3_of_max"] === 0;
  const elementTolerance = Math.max(ELEMENTWISE_REL_TOLERANCE, 2 * (floor.max_rel_err ?? 0));
  console.log(
    `${label} ${name.padEnd(24)} pearson ${r.toFixed(7)}  rel L2 ${relL2.toExponential(2)} ` +
      `<= ${threshold.toExponential(2)}  max diff/max ${(maxDiff / maxRef).toExponential(2)}` +
      (elementwise ? " (checked)" : ""),
  );
  if (!(r >= MIN_PEARSON)) return `${name}: Pearson ${r} < ${MIN_PEARSON}`;
  if (rule === "pearson-only") return undefined;
  if (!(relL2 <= threshold)) return `${name}: relative L2 error ${relL2} > ${threshold}`;
  if (elementwise && !(maxDiff <= elementTolerance * maxRef)) {
    return `${name}: max |a - b| = ${maxDiff} > ${elementTolerance} x ${maxRef}`;
  }
  return undefined;
}
