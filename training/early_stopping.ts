/**
 * Early stopping on validation accuracy, as the reference: a strictly better accuracy resets
 * the counter and marks a new best; `patience` epochs without one stop training.
 *
 * @module
 */

/** Early-stopping state after some epochs; plain JSON, saved with the resume state. */
export interface EarlyStoppingState {
  /** Best validation accuracy so far; -1 before the first epoch. */
  bestValAccuracy: number;
  /** 1-based epoch of the best accuracy; 0 before the first epoch. */
  bestEpoch: number;
  /** Epochs since the last improvement. */
  epochsWithoutImprovement: number;
}

/** The state before the first epoch. */
export const INITIAL_EARLY_STOPPING: Readonly<EarlyStoppingState> = Object.freeze({
  bestValAccuracy: -1,
  bestEpoch: 0,
  epochsWithoutImprovement: 0,
});

/**
 * The state after `epoch` ended with `valAccuracy`; `improved` means "save the best
 * checkpoint now", `stop` means "no more epochs".
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { INITIAL_EARLY_STOPPING, updateEarlyStopping } from "./early_stopping.ts";
 * let s = updateEarlyStopping(INITIAL_EARLY_STOPPING, 1, 0.5, 2);
 * assert(s.improved && !s.stop);
 * s = updateEarlyStopping(s.state, 2, 0.5, 2); // equal is not better
 * s = updateEarlyStopping(s.state, 3, 0.4, 2);
 * assert(!s.improved && s.stop && s.state.bestEpoch === 1);
 * ```
 */
export function updateEarlyStopping(
  state: EarlyStoppingState,
  epoch: number,
  valAccuracy: number,
  patience: number,
): { state: EarlyStoppingState; improved: boolean; stop: boolean } {
  const improved = valAccuracy > state.bestValAccuracy;
  const next: EarlyStoppingState = improved
    ? { bestValAccuracy: valAccuracy, bestEpoch: epoch, epochsWithoutImprovement: 0 }
    : { ...state, epochsWithoutImprovement: state.epochsWithoutImprovement + 1 };
  return { state: next, improved, stop: next.epochsWithoutImprovement >= patience };
}
