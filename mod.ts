/**
 * ecg-xai: train ECG-image classifiers, explain their decisions, and measure how good the
 * explanations are. This module is the library API and the command line:
 *
 * ```sh
 * deno run --allow-read=. --allow-write=outputs mod.ts <stage> [flags]   # stage --help for flags
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { openDataset, resolveConfig } from "./mod.ts";
 * const config = resolveConfig({}, { seed: 7 });
 * assert(config.seed === 7 && typeof openDataset === "function");
 * ```
 *
 * @module
 */
import { runStage } from "./stages/cli.ts";
import { STAGES } from "./stages/registry.ts";

export * from "./core/config.ts";
export * from "./core/flags.ts";
export * from "./core/errors.ts";
export * from "./core/random.ts";
export * from "./core/progress.ts";
export * from "./core/atomic_write.ts";
export * from "./core/paths.ts";
export * from "./data/image.ts";
export * from "./data/dataset.ts";
export * from "./data/stratified_split.ts";
export * from "./data/split_folder.ts";
export * from "./data/limit.ts";
export * from "./data/loader.ts";
export * from "./data/image_header.ts";
export * from "./data/decode_image.ts";
export * from "./data/grayscale.ts";
export * from "./data/resize.ts";
export * from "./data/preprocess.ts";
export * from "./data/augment.ts";
export * from "./data/image_cache.ts";
export * from "./data/npy.ts";
export * from "./data/download.ts";
export * from "./data/unzip_classes.ts";
export * from "./data/synth/synthetic_dataset.ts";
export * from "./backends/backend.ts";
export * from "./models/architecture.ts";
export * from "./models/registry.ts";
export * from "./models/layers.ts";
export * from "./models/safetensors.ts";
export * from "./models/torch_weights.ts";
export * from "./training/adamw.ts";
export * from "./training/cross_entropy.ts";
export * from "./training/early_stopping.ts";
export * from "./training/lr_schedule.ts";
export * from "./training/history.ts";
export * from "./training/checkpoint_io.ts";
export * from "./training/train_loop.ts";
export * from "./evaluation/classification_metrics.ts";
export * from "./evaluation/confusion_matrix.ts";
export * from "./evaluation/predictions.ts";
export * from "./evaluation/model_performance.ts";
export * from "./models/inference.ts";
export * from "./graph/affine_prefix.ts";
export * from "./graph/sparse_stem.ts";
export * from "./graph/input_gradients.ts";
export * from "./graph/fold_batchnorm.ts";
export * from "./xai/explainer.ts";
export * from "./xai/registry.ts";
export * from "./xai/normalise.ts";
export * from "./metrics/faithfulness/pixel_flipping.ts";
export * from "./metrics/faithfulness/region_perturbation.ts";
export * from "./metrics/faithfulness/selectivity.ts";
export * from "./metrics/faithfulness/irof.ts";
export * from "./metrics/faithfulness/faithfulness_estimate.ts";
export * from "./metrics/faithfulness/monotonicity_nguyen.ts";
export * from "./metrics/faithfulness/monotonicity_arya.ts";
export * from "./metrics/faithfulness/road.ts";
export * from "./metrics/faithfulness/sufficiency.ts";
export * from "./metrics/faithfulness/sensitivity_n.ts";
export * from "./metrics/faithfulness/infidelity.ts";
export * from "./metrics/faithfulness/insertion_deletion.ts";
export * from "./metrics/metric.ts";
export * from "./metrics/registry.ts";
export * from "./metrics/functions/draws.ts";
export * from "./metrics/metric_model.ts";
export * from "./metrics/functions/normalise.ts";
export * from "./metrics/functions/perturb.ts";
export * from "./metrics/functions/similarity.ts";
export * from "./metrics/functions/norm.ts";
export * from "./metrics/summary.ts";
export * from "./metrics/comparisons.ts";
export * from "./metrics/agreement.ts";
export * from "./metrics/validity.ts";
export * from "./metrics/report_card.ts";
export * from "./metrics/meta/consistency.ts";
export * from "./metrics/meta/perturbation_tests.ts";
export * from "./metrics/meta/meta_evaluation.ts";
export * from "./metrics/functions/explainer_function.ts";
export * from "./metrics/randomisation/layer_randomisation.ts";
export * from "./metrics/robustness/noise_sensitivity.ts";
export * from "./metrics/faithfulness/faithfulness_correlation.ts";
export * from "./metrics/robustness/max_sensitivity.ts";
export * from "./metrics/robustness/avg_sensitivity.ts";
export * from "./metrics/robustness/local_lipschitz_estimate.ts";
export * from "./metrics/robustness/continuity.ts";
export * from "./metrics/robustness/consistency.ts";
export * from "./metrics/robustness/relative_stability.ts";
export * from "./metrics/robustness/relative_input_stability.ts";
export * from "./metrics/robustness/relative_output_stability.ts";
export * from "./metrics/robustness/relative_representation_stability.ts";
export * from "./metrics/randomisation/mprt.ts";
export * from "./metrics/complexity/sparseness.ts";
export * from "./metrics/complexity/complexity.ts";
export * from "./metrics/complexity/effective_complexity.ts";
export * from "./metrics/functions/masks.ts";
export * from "./metrics/functions/mosaics.ts";
export * from "./metrics/localisation/pointing_game.ts";
export * from "./metrics/localisation/attribution_localisation.ts";
export * from "./metrics/localisation/top_k_intersection.ts";
export * from "./metrics/localisation/relevance_rank_accuracy.ts";
export * from "./metrics/localisation/relevance_mass_accuracy.ts";
export * from "./metrics/localisation/auc.ts";
export * from "./metrics/axiomatic/completeness.ts";
export * from "./metrics/randomisation/random_logit.ts";
export * from "./statistics/ranks.ts";
export * from "./statistics/bootstrap.ts";
export * from "./statistics/paired.ts";
export * from "./statistics/normal.ts";
export * from "./statistics/wilcoxon.ts";
export * from "./statistics/holm.ts";
export * from "./statistics/rank_groups.ts";
export * from "./statistics/kendall_tau.ts";
export * from "./statistics/percentile.ts";
export * from "./leads/panel_boxes.ts";
export * from "./leads/page_fit.ts";
export * from "./leads/page_layouts.ts";
export * from "./leads/lead_shares.ts";
export * from "./leads/lead_tables.ts";
export * from "./svg/rasterise.ts";
export * from "./plots/render.ts";
export * from "./plots/inputs.ts";
export * from "./plots/draw_charts.ts";
export * from "./plots/charts/confusion_matrix.ts";
export * from "./plots/charts/training_curves.ts";
export * from "./plots/charts/confidence_histogram.ts";
export * from "./plots/charts/quantus_scores.ts";
export * from "./plots/charts/quantus_radar.ts";
export * from "./plots/charts/quantus_metrics.ts";
export * from "./plots/charts/quantus_scatter.ts";
export * from "./plots/charts/performance_vs_xai.ts";
export * from "./plots/charts/dataset_charts.ts";
export * from "./plots/charts/performance_table.ts";
export * from "./plots/charts/method_ranks.ts";
export * from "./plots/charts/metric_agreement.ts";
export * from "./plots/charts/report_card.ts";
export * from "./plots/charts/significance_marks.ts";
export * from "./plots/charts/lead_shares.ts";
export * from "./plots/dashboard/dashboard_data.ts";
export * from "./plots/dashboard/write_dashboard.ts";
export { STAGES } from "./stages/registry.ts";

/**
 * The command line: `mod.ts <stage> [flags]`; returns the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { main } from "./mod.ts";
 * assert((await main(["no-such-stage"])) === 2);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const stage = STAGES.find((s) => s.spec.name === name);
  if (!stage) {
    const list = STAGES.map((s) => `  ${s.spec.name.padEnd(12)} ${s.spec.summary}`).join("\n");
    const askedForHelp = name === "--help" || name === "-h";
    const problem = askedForHelp ? "" : name ? `unknown stage "${name}"\n\n` : "no stage given\n\n";
    const text = `${problem}usage: mod.ts <stage> [flags]\n\nStages:\n${list}`;
    (askedForHelp ? console.log : console.error)(text);
    return askedForHelp ? 0 : 2;
  }
  return await runStage(stage.spec, rest, stage.run);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
