/**
 * `deno task demo`: every stage that exists, end to end, on the built-in synthetic data.
 *
 * @module
 */
import { join } from "node:path";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { dataCheck } from "./data_check.ts";
import { evaluate } from "./eval.ts";
import { train } from "./train.ts";
import { plots } from "./plots.ts";
import { quantus } from "./quantus.ts";
import { readQuantusSummary } from "../runs/quantus_outputs.ts";
import { viz } from "./viz.ts";
import { xai } from "./xai.ts";
import { GENERATOR_VERSION } from "../data/synth/synthetic_dataset.ts";
import { dataSynth, DEMO_IMAGES_PER_CLASS, DEMO_WIDTH_PX } from "./data_synth.ts";

/** Input size the demo trains at: ecgnet's own default, quick on a CPU. */
export const DEMO_IMG_SIZE_PX = 128;
/** Training epochs of the demo. */
export const DEMO_EPOCHS = 12;
/** Batch size of the demo: more steps per epoch on its 168 training images. */
export const DEMO_BATCH_SIZE = 16;

/** Test images the demo explains: a quick look, not a study. */
export const DEMO_XAI_LIMIT = 8;
/** Methods the demo runs: one of each kind (layer, gradient, path), all quick. */
export const DEMO_XAI_METHODS: readonly string[] = ["gradcam", "saliency", "integrated_gradients"];
/**
 * Methods the demo scores with the metrics: Integrated Gradients is left out because
 * Max-Sensitivity and MPRT re-explain every image some twenty times.
 */
export const DEMO_QUANTUS_METHODS: readonly string[] = ["gradcam", "saliency"];

/** Command-line description of `demo`. */
export const demoSpec: StageSpec = {
  name: "demo",
  summary: "Run every stage end to end on the synthetic ECG data set (made on first run).",
  shared: ["out", "models", "limit", "img-size", "seed", "config", "backend", "convolutions"],
  flags: {
    epochs: {
      type: "string",
      valueName: "N",
      help: `training epochs (demo default ${DEMO_EPOCHS})`,
    },
  },
  defaults: {
    imgSizePx: DEMO_IMG_SIZE_PX,
    epochs: DEMO_EPOCHS,
    batchSize: DEMO_BATCH_SIZE,
    augment: false,
  },
  details:
    `The data set (4 classes x ${DEMO_IMAGES_PER_CLASS} images) is written to <out>/synthetic ` +
    "and reused while its seed and size match. The demo trains at " +
    `${DEMO_IMG_SIZE_PX} px for ${DEMO_EPOCHS} epochs with batch ${DEMO_BATCH_SIZE} by default, ` +
    `then explains ${DEMO_XAI_LIMIT} test images with ${DEMO_XAI_METHODS.join(", ")}, scores ` +
    `the ${DEMO_QUANTUS_METHODS.join(" and ")} maps with the reference metrics and the ` +
    "localisation metrics (the synthetic set has lesion masks), draws the figures and charts, " +
    "and ends with the path of the offline dashboard.",
};

/**
 * The localisation metrics of a quantus summary as a small table: on the synthetic set they
 * answer whether a method points at the lesion (the ST segments of an MI, the Q waves of an old
 * one), which real scans cannot.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { localisationReport } from "./demo.ts";
 * const row = { model: "ecgnet", method: "gradcam", metric: "pointing_game", category: "localisation",
 *   direction: "higher", mean: "0.75", ci95_low: "0.5", ci95_high: "1", n: "8" };
 * assert(localisationReport([row]).includes("pointing_game"));
 * ```
 */
export function localisationReport(summary: readonly Record<string, string>[]): string {
  const rows = summary.filter((r) => r.category === "localisation");
  if (rows.length === 0) return "localisation: no ground-truth masks, nothing to report";
  const lines = rows.map((r) =>
    `  ${r.model.padEnd(10)} ${r.method.padEnd(22)} ${r.metric.padEnd(26)} ` +
    `${Number(r.mean).toFixed(3)} [${Number(r.ci95_low).toFixed(3)}, ${
      Number(r.ci95_high).toFixed(3)
    }]` +
    ` (${r.direction} is better, n=${r.n})`
  );
  return ["Does the method point at the lesion? (synthetic masks, 95 % CI)", ...lines].join("\n");
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}

/**
 * Runs the demo with parsed arguments.
 *
 * @example
 * ```ts ignore
 * import { runStage } from "./cli.ts";
 * import { demo, demoSpec } from "./demo.ts";
 * await runStage(demoSpec, ["--limit", "8"], demo);
 * ```
 */
export async function demo(args: StageArgs): Promise<void> {
  const data = join(args.config.out, "synthetic");
  const config = { ...args.config, data };
  const existing = await readJson(join(data, "synthetic.json"));
  const reusable = existing?.version === GENERATOR_VERSION && existing?.seed === config.seed &&
    existing?.perClass === DEMO_IMAGES_PER_CLASS && existing?.widthPx === DEMO_WIDTH_PX;
  if (reusable) {
    console.log(`== data:synth: reusing ${data}`);
  } else {
    console.log(`== data:synth -> ${data}`);
    await dataSynth({ config, flags: { out: data } });
  }
  console.log("== data:check");
  await dataCheck({ config, flags: {} });
  console.log(`== train ${config.models.join(", ")}`);
  await train({ config, flags: { epochs: args.flags.epochs } });
  console.log("== eval");
  await evaluate({ config, flags: {} });
  console.log(`model performance: ${join(config.out, "results", "model_performance.csv")}`);
  console.log(`== xai ${DEMO_XAI_METHODS.join(", ")}`);
  const xaiLimit = Math.min(config.limit ?? DEMO_XAI_LIMIT, DEMO_XAI_LIMIT);
  await xai({
    config: { ...config, limit: xaiLimit },
    flags: { methods: DEMO_XAI_METHODS.join(",") },
  });
  console.log(`explanations: ${join(config.out, "explanations")}`);
  console.log(`== quantus ${DEMO_QUANTUS_METHODS.join(", ")}`);
  await quantus({
    config: { ...config, limit: xaiLimit },
    flags: { methods: DEMO_QUANTUS_METHODS.join(",") },
  });
  console.log(localisationReport(await readQuantusSummary(config.out)));
  console.log("== viz");
  await viz({ config, flags: { methods: DEMO_XAI_METHODS.join(",") } });
  console.log("== plots");
  // plots ends by printing the dashboard's path, which is the demo's last line.
  await plots({ config, flags: {} });
}

if (import.meta.main) Deno.exit(await runStage(demoSpec, Deno.args, demo));
