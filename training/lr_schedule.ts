/**
 * Learning-rate schedules, per epoch, as PyTorch's schedulers compute them.
 *
 * @module
 */

/**
 * The learning rate of 0-based `epochIndex` under `torch.optim.lr_scheduler.CosineAnnealingLR`
 * with `T_max = totalEpochs` and `eta_min = 0`, stepped once per epoch (closed form).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cosineAnnealingLr } from "./lr_schedule.ts";
 * assert(cosineAnnealingLr(1e-3, 0, 10) === 1e-3);
 * assert(Math.abs(cosineAnnealingLr(1e-3, 5, 10) - 5e-4) < 1e-12);
 * ```
 */
export function cosineAnnealingLr(baseLr: number, epochIndex: number, totalEpochs: number): number {
  return (baseLr * (1 + Math.cos((Math.PI * epochIndex) / totalEpochs))) / 2;
}
