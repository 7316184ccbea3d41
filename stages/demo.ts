/**
 * `deno task demo`: every stage that exists, end to end, on the built-in synthetic data.
 *
 * @module
 */
import { join } from "node:path";
import { describeBackend, startBackend } from "../models/backend.ts";
import { runStage, type StageArgs, type StageSpec } from "./cli.ts";
import { dataCheck } from "./data_check.ts";
import { GENERATOR_VERSION } from "../data/synth/synthetic_dataset.ts";
import { dataSynth, DEMO_IMAGES_PER_CLASS, DEMO_WIDTH_PX } from "./data_synth.ts";

/** Command-line description of `demo`. */
export const demoSpec: StageSpec = {
  name: "demo",
  summary: "Run every stage end to end on the synthetic ECG data set (made on first run).",
  shared: ["out", "limit", "img-size", "seed", "config", "backend"],
  details:
    `The data set (4 classes x ${DEMO_IMAGES_PER_CLASS} images) is written to <out>/synthetic ` +
    "and reused while its seed and size match.",
};

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
  const { config } = args;
  console.log(describeBackend(await startBackend(config.backend)));
  const data = join(config.out, "synthetic");
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
  await dataCheck({ config: { ...config, data }, flags: {} });
  console.log(
    "The train, eval, xai, quantus, plots and viz stages join the demo as they land " +
      "(see the README's roadmap).",
  );
}

if (import.meta.main) Deno.exit(await runStage(demoSpec, Deno.args, demo));
