/**
 * The `leads` stage's tables: one row per explained image (its panels' shares), and the
 * summaries per model, method and class — the mean share of each panel, and on pages that record
 * which leads carry the evidence (the synthetic set), the share in those leads beside the share
 * their area would get by chance, with a Wilcoxon signed-rank test of the difference.
 *
 * @module
 */
import { wilcoxonSignedRank } from "../statistics/wilcoxon.ts";
import { SHARE_COLUMNS } from "./lead_shares.ts";
import type { LayoutKind } from "./page_layouts.ts";

/** One explained image's shares. */
export interface LeadRow {
  id: string;
  file: string;
  trueClass: string;
  targetClass: string;
  layout: LayoutKind;
  /** Per {@link SHARE_COLUMNS}: each panel's share of positive relevance, then `outside`. */
  shares: Float64Array;
  /** The leads carrying the evidence, where the page records them (else empty). */
  affectedLeads: readonly string[];
  /** The affected leads' panels' share (NaN without affected leads or shares). */
  affectedShare: number;
  /** The affected panels' share of the page's area: their share under an even map. */
  chanceShare: number;
  /** Why the shares are NaN, else empty. */
  reason: string;
}

/** The columns of the per-image file `<out>/leads/<model>/<method>.csv`. */
export const LEAD_ROW_COLUMNS: readonly string[] = [
  "id",
  "file",
  "true_class",
  "target_class",
  "layout",
  ...SHARE_COLUMNS,
  "affected_leads",
  "affected_share",
  "chance_share",
  "reason",
];

/** The columns of `<out>/results/lead_shares.csv`. */
export const LEAD_SHARES_COLUMNS = [
  "model",
  "method",
  "class",
  "panel",
  "mean_share",
  "n",
] as const;

/** The columns of `<out>/results/lead_affected.csv`. */
export const LEAD_AFFECTED_COLUMNS = [
  "model",
  "method",
  "class",
  "n",
  "affected_share",
  "chance_share",
  "p_wilcoxon",
] as const;

/** A number as the tables write it: six decimals, `NaN` for undefined. */
function formatShare(value: number): string {
  return Number.isNaN(value) ? "NaN" : value.toFixed(6);
}

/**
 * A row of the per-image file, in {@link LEAD_ROW_COLUMNS} order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { leadRowCells } from "./lead_tables.ts";
 * const shares = new Float64Array(14).fill(NaN);
 * const cells = leadRowCells({
 *   id: "test/MI/a", file: "a.jpg", trueClass: "MI", targetClass: "MI", layout: "not_found",
 *   shares, affectedLeads: [], affectedShare: NaN, chanceShare: NaN, reason: "no layout",
 * });
 * assert(cells.length === 23 && cells[5] === "NaN" && cells[22] === "no layout");
 * ```
 */
export function leadRowCells(row: LeadRow): string[] {
  return [
    row.id,
    row.file,
    row.trueClass,
    row.targetClass,
    row.layout,
    ...[...row.shares].map(formatShare),
    row.affectedLeads.join(" "),
    formatShare(row.affectedShare),
    formatShare(row.chanceShare),
    row.reason,
  ];
}

/** The classes of `rows` in order of first appearance. */
function classesOf(rows: readonly LeadRow[]): string[] {
  return [...new Set(rows.map((row) => row.trueClass))];
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((sum, v) => sum + v, 0) / values.length;
}

/**
 * Per true class and panel (and `outside`): the mean share over the images with shares, in
 * {@link LEAD_SHARES_COLUMNS} order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { leadSharesSummary } from "./lead_tables.ts";
 * const row = (v: number) => ({
 *   id: "i", file: "f", trueClass: "MI", targetClass: "MI", layout: "fitted" as const,
 *   shares: new Float64Array(14).fill(v), affectedLeads: [], affectedShare: NaN,
 *   chanceShare: NaN, reason: "",
 * });
 * const summary = leadSharesSummary("ecgnet", "gradcam", [row(0.1), row(0.3), row(NaN)]);
 * assert(summary.length === 14 && summary[0].join() === "ecgnet,gradcam,MI,I,0.200000,2");
 * ```
 */
export function leadSharesSummary(
  model: string,
  method: string,
  rows: readonly LeadRow[],
): string[][] {
  return classesOf(rows).flatMap((className) => {
    const scored = rows.filter((r) => r.trueClass === className && !Number.isNaN(r.shares[0]));
    return SHARE_COLUMNS.map((panel, k) => [
      model,
      method,
      className,
      panel,
      formatShare(mean(scored.map((r) => r.shares[k]))),
      String(scored.length),
    ]);
  });
}

/**
 * Per true class whose pages record affected leads: the mean share in them, the mean share their
 * area would get by chance, and the two-sided Wilcoxon signed-rank p of the paired differences,
 * in {@link LEAD_AFFECTED_COLUMNS} order. Classes without affected leads are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { leadAffectedSummary } from "./lead_tables.ts";
 * const row = (share: number) => ({
 *   id: "i", file: "f", trueClass: "MI", targetClass: "MI", layout: "synthetic" as const,
 *   shares: new Float64Array(14), affectedLeads: ["V1"], affectedShare: share,
 *   chanceShare: 0.05, reason: "",
 * });
 * const [line] = leadAffectedSummary("ecgnet", "gradcam", [0.5, 0.6, 0.7, 0.8, 0.9].map(row));
 * assert(line.join() === "ecgnet,gradcam,MI,5,0.700000,0.050000,0.0625");
 * ```
 */
export function leadAffectedSummary(
  model: string,
  method: string,
  rows: readonly LeadRow[],
): string[][] {
  return classesOf(rows).flatMap((className) => {
    const scored = rows.filter((r) =>
      r.trueClass === className && !Number.isNaN(r.affectedShare) && !Number.isNaN(r.chanceShare)
    );
    if (scored.length === 0) return [];
    const { p } = wilcoxonSignedRank(scored.map((r) => r.affectedShare - r.chanceShare));
    return [[
      model,
      method,
      className,
      String(scored.length),
      formatShare(mean(scored.map((r) => r.affectedShare))),
      formatShare(mean(scored.map((r) => r.chanceShare))),
      Number.isNaN(p) ? "NaN" : String(Number(p.toPrecision(4))),
    ]];
  });
}
