/**
 * The subset perturbation in plain TypeScript loops, written for reading: what `perturbSubsets`
 * (`perturb_subsets.ts`) runs on backends that do not accelerate it, and the definition the WGSL
 * kernel `perturb_subsets.wgsl` is tested against, bit for bit. Semantics and layouts:
 * `perturb_subsets_types.ts`. Production code runs it, so it is no `_reference.ts` file (only
 * tests may import those).
 *
 * @module
 */
import { replacePixels } from "../functions/perturb.ts";
import {
  checkSubsetPerturbation,
  imageStepsStart,
  type SubsetPerturbation,
} from "./perturb_subsets_types.ts";

/**
 * The perturbed copies, [K·N, H, W, C] (see `perturb_subsets_types.ts`).
 *
 * @throws {InputError} from {@link checkSubsetPerturbation}.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { perturbSubsetsReference } from "./perturb_subsets_cpu.ts";
 * import { cumulativeSteps } from "./perturb_subsets_types.ts";
 * const x = Float32Array.of(1, 2, 3, 4); // one 1x4 image, one channel
 * const subsets = perturbSubsetsReference({
 *   xNHWC: x, shapeNHWC: [1, 1, 4, 1], copies: 2,
 *   selection: { mode: "subsets", pixelsKNM: Int32Array.of(0, 3, 1, 2), subsetSize: 2 },
 *   baselinesKN: Float32Array.of(0, 9),
 * });
 * assert(subsets.join() === "0,2,3,0,1,9,9,4");
 * const steps = perturbSubsetsReference({
 *   xNHWC: x, shapeNHWC: [1, 1, 4, 1], copies: 2,
 *   selection: cumulativeSteps([[[3, 2, 1], [0]]]),
 *   baselinesKN: Float32Array.of(0, 9),
 * });
 * assert(steps.join() === "1,0,0,0,9,0,0,0");
 * ```
 */
export function perturbSubsetsReference(pass: SubsetPerturbation): Float32Array<ArrayBuffer> {
  checkSubsetPerturbation(pass);
  const { xNHWC, shapeNHWC, copies, selection, baselinesKN } = pass;
  const [n, h, w, c] = shapeNHWC;
  const perImage = h * w * c;
  const out = new Float32Array(copies * n * perImage);
  for (let k = 0; k < copies; k++) {
    for (let i = 0; i < n; i++) {
      const row = k * n + i;
      const copy = out.subarray(row * perImage, (row + 1) * perImage);
      copy.set(xNHWC.subarray(i * perImage, (i + 1) * perImage));
      if (selection.mode === "subsets") {
        const m = selection.subsetSize;
        replacePixels(
          copy,
          c,
          selection.pixelsKNM.subarray(row * m, (row + 1) * m),
          baselinesKN[row],
        );
        continue;
      }
      const { stepPixels, stepEndsNS, firstStep = 0 } = selection;
      const s = stepEndsNS.length / n;
      let start = imageStepsStart(stepEndsNS, s, i);
      for (let step = 0; step <= Math.min(firstStep + k, s - 1); step++) {
        const end = stepEndsNS[i * s + step];
        replacePixels(copy, c, stepPixels.subarray(start, end), baselinesKN[step * n + i]);
        start = end;
      }
    }
  }
  return out;
}
