/**
 * Every stage by task name: what `mod.ts <stage>` dispatches to.
 *
 * @module
 */
import type { StageArgs, StageSpec } from "./cli.ts";
import { dataCheck, dataCheckSpec } from "./data_check.ts";
import { dataSplit, dataSplitSpec } from "./data_split.ts";
import { dataSynth, dataSynthSpec } from "./data_synth.ts";
import { demo, demoSpec } from "./demo.ts";

/** A runnable stage. */
export interface Stage {
  spec: StageSpec;
  run: (args: StageArgs) => Promise<void>;
}

/** The stages, in pipeline order. */
export const STAGES: readonly Stage[] = [
  { spec: dataSynthSpec, run: dataSynth },
  { spec: dataSplitSpec, run: dataSplit },
  { spec: dataCheckSpec, run: dataCheck },
  { spec: demoSpec, run: demo },
];
