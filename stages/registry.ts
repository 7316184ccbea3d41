/**
 * Every stage by task name: what `mod.ts <stage>` dispatches to.
 *
 * @module
 */
import type { StageArgs, StageSpec } from "./cli.ts";
import { compare, compareSpec } from "./compare.ts";
import { dataCheck, dataCheckSpec } from "./data_check.ts";
import { dataFetch, dataFetchSpec } from "./data_fetch.ts";
import { dataSplit, dataSplitSpec } from "./data_split.ts";
import { dataSynth, dataSynthSpec } from "./data_synth.ts";
import { demo, demoSpec } from "./demo.ts";
import { evalSpec, evaluate } from "./eval.ts";
import { explain, explainSpec } from "./explain.ts";
import { exportSpec, exportWeights } from "./export.ts";
import { importSpec, importWeights } from "./import.ts";
import { leads, leadsSpec } from "./leads.ts";
import { merge, mergeSpec } from "./merge.ts";
import { meta, metaSpec } from "./meta.ts";
import { plots, plotsSpec } from "./plots.ts";
import { predict, predictSpec } from "./predict.ts";
import { quantus, quantusSpec } from "./quantus.ts";
import { sanity, sanitySpec } from "./sanity.ts";
import { status, statusSpec } from "./status.ts";
import { train, trainSpec } from "./train.ts";
import { viz, vizSpec } from "./viz.ts";
import { xai, xaiSpec } from "./xai.ts";

/** A runnable stage. */
export interface Stage {
  spec: StageSpec;
  run: (args: StageArgs) => Promise<void>;
}

/** The stages, in pipeline order. */
export const STAGES: readonly Stage[] = [
  { spec: dataSynthSpec, run: dataSynth },
  { spec: dataFetchSpec, run: dataFetch },
  { spec: dataSplitSpec, run: dataSplit },
  { spec: dataCheckSpec, run: dataCheck },
  { spec: trainSpec, run: async (args) => void (await train(args)) },
  { spec: importSpec, run: async (args) => void (await importWeights(args)) },
  { spec: exportSpec, run: async (args) => void (await exportWeights(args)) },
  { spec: evalSpec, run: async (args) => void (await evaluate(args)) },
  { spec: predictSpec, run: predict },
  { spec: xaiSpec, run: xai },
  { spec: explainSpec, run: explain },
  { spec: quantusSpec, run: quantus },
  { spec: compareSpec, run: compare },
  { spec: metaSpec, run: meta },
  { spec: leadsSpec, run: leads },
  { spec: sanitySpec, run: async (args) => void (await sanity(args)) },
  { spec: plotsSpec, run: async (args) => void (await plots(args)) },
  { spec: vizSpec, run: async (args) => void (await viz(args)) },
  { spec: mergeSpec, run: merge },
  { spec: statusSpec, run: status },
  { spec: demoSpec, run: demo },
];
