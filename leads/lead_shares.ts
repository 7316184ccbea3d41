/**
 * How an explanation's positive relevance splits over the report's panels: per panel, the sum of
 * the map's positive values in the panel's pixels over their sum on the whole page. Negative
 * values (evidence against the class, for signed methods) are left out, so the shares of a map
 * and of its positive part agree. The panels' shares sum to at most 1; the rest, `outside`, fell
 * on the header, footer, calibration pulses and margins.
 *
 * @module
 */
import { PANEL_BOXES } from "./panel_boxes.ts";

/** The share columns: one per panel in {@link PANEL_BOXES} order, then `outside`. */
export const SHARE_COLUMNS: readonly string[] = [...PANEL_BOXES.map((box) => box.name), "outside"];

/**
 * Each panel's share of `mapHW`'s positive relevance, then the share outside every panel
 * (labels from `panelLabels`); all NaN when the map has no positive value.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { panelShares } from "./lead_shares.ts";
 * const shares = panelShares(Float32Array.of(3, -5, 1, 0), Int8Array.of(0, 0, 12, -1));
 * assert(shares[0] === 0.75 && shares[12] === 0.25 && shares[13] === 0 && shares.length === 14);
 * ```
 */
export function panelShares(mapHW: Float32Array, labels: Int8Array): Float64Array {
  const sums = new Float64Array(PANEL_BOXES.length + 1);
  let total = 0;
  mapHW.forEach((value, j) => {
    if (!(value > 0)) return;
    sums[labels[j] < 0 ? PANEL_BOXES.length : labels[j]] += value;
    total += value;
  });
  return sums.map((sum) => total > 0 ? sum / total : NaN);
}

/**
 * The indices in {@link PANEL_BOXES} of the panels showing one of `leads` (the rhythm strip with
 * lead II).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { panelsOfLeads } from "./lead_shares.ts";
 * assert(panelsOfLeads(["II", "aVF"]).join() === "4,9,12");
 * ```
 */
export function panelsOfLeads(leads: readonly string[]): number[] {
  return [...PANEL_BOXES.keys()].filter((i) => leads.includes(PANEL_BOXES[i].lead));
}

/**
 * The share of map pixels in `panels`: what a map spread evenly over the page (chance) puts
 * there.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { areaShare } from "./lead_shares.ts";
 * assert(areaShare(Int8Array.of(0, 1, 1, -1), [1]) === 0.5);
 * ```
 */
export function areaShare(labels: Int8Array, panels: readonly number[]): number {
  let inside = 0;
  for (const label of labels) if (panels.includes(label)) inside++;
  return inside / labels.length;
}
