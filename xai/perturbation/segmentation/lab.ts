/**
 * sRGB → CIE L*a*b* (D65 white, 2° observer), as `skimage.color.rgb2lab` converts an image
 * before quickshift and SLIC segment it: L* in [0, 100], a*, b* roughly in [−128, 127].
 *
 * @module
 */

/** sRGB (linear RGB) → XYZ, the matrix skimage uses. */
const XYZ_FROM_RGB = [
  [0.412453, 0.35758, 0.180423],
  [0.212671, 0.71516, 0.072169],
  [0.019334, 0.119193, 0.950227],
] as const;

/** The D65 reference white for the 2° observer. */
const WHITE_D65 = [0.95047, 1, 1.08883] as const;

/** Undoes the sRGB transfer curve. */
function linearise(v: number): number {
  return v > 0.04045 ? ((v + 0.055) / 1.055) ** 2.4 : v / 12.92;
}

/** CIE's f(t): a cube root with a linear piece near 0. */
function labF(t: number): number {
  return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
}

/**
 * Converts an HWC sRGB image with values in [0, 1] to L*a*b*, value by value.
 *
 * @param rgbHWC 3 values per pixel, in [0, 1].
 * @returns 3 values per pixel: L*, a*, b*.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rgbToLabHWC } from "./lab.ts";
 * const lab = rgbToLabHWC(Float32Array.of(1, 1, 1, 0, 0, 0));
 * assert(Math.abs(lab[0] - 100) < 1e-3 && Math.abs(lab[1]) < 1e-2 && lab[3] === 0);
 * ```
 */
export function rgbToLabHWC(rgbHWC: Float32Array): Float64Array {
  const lab = new Float64Array(rgbHWC.length);
  for (let p = 0; p < rgbHWC.length; p += 3) {
    const [r, g, b] = [linearise(rgbHWC[p]), linearise(rgbHWC[p + 1]), linearise(rgbHWC[p + 2])];
    const [fx, fy, fz] = XYZ_FROM_RGB.map((row, i) =>
      labF((row[0] * r + row[1] * g + row[2] * b) / WHITE_D65[i])
    );
    lab[p] = 116 * fy - 16;
    lab[p + 1] = 500 * (fx - fy);
    lab[p + 2] = 200 * (fy - fz);
  }
  return lab;
}
