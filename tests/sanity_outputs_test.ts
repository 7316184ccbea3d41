/**
 * The sanity checks' files as other stages handle them: `deno task merge` combines the
 * architecture folders of separate shards into the tables one run writes, and a train on another
 * data set moves an architecture's sanity files with its run (and back), rebuilding the combined
 * tables on both sides. The folders are written by hand: what they hold, not how they were
 * trained, is under test (the stage's own test trains).
 */
import { join } from "node:path";
import { SeededRandom } from "../core/random.ts";
import { accuracyCsv, type AccuracyRow } from "../sanity/accuracy.ts";
import { SANITY_FILES, writeSanityTables } from "../sanity/outputs.ts";
import { combinedCsvs, partCsv, type SimilarityRow } from "../sanity/similarity_table.ts";
import { summariseSanity, summaryCsv } from "../sanity/summary.ts";
import { switchRun } from "../runs/park.ts";
import { merge } from "../stages/merge.ts";
import { DEFAULT_CONFIG } from "../core/config.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { testDir } from "./test_dirs.ts";

const SEED = 42;

/** Seeded similarity rows of one architecture and method: permuted vs real, two seed pairs. */
function similarityRows(model: string, method: string): SimilarityRow[] {
  const random = new SeededRandom(SEED).fork(`${model}/${method}`);
  return ["i1", "i2", "i3"].flatMap((image) =>
    [
      { seedA: SEED, seedB: SEED, comparison: "data_randomisation" as const },
      { seedA: SEED, seedB: SEED + 1, comparison: "seeds" as const },
      { seedA: SEED, seedB: SEED + 2, comparison: "seeds" as const },
    ].map((pair) => ({
      model,
      method,
      image,
      ...pair,
      spearman: random.uniform(),
      ssim: random.uniform(),
    }))
  );
}

function accuracyRows(model: string): AccuracyRow[] {
  const row = (checkpoint: string, role: AccuracyRow["role"], seed: number): AccuracyRow => ({
    model,
    checkpoint,
    role,
    seed,
    bestEpoch: 1,
    trainAccuracy: 0.5,
    testAccuracy: 0.25,
    chanceAccuracy: 0.25,
  });
  return [
    row(model, "real", SEED),
    row(`${model}-labels-permuted`, "permuted_labels", SEED),
    row(`${model}-seed-${SEED + 1}`, "seed", SEED + 1),
    row(`${model}-seed-${SEED + 2}`, "seed", SEED + 2),
  ];
}

/** An architecture's sanity folder and model checkpoints, as the sanity stage leaves them. */
async function writeSanityFolder(out: string, model: string, methods: string[]): Promise<void> {
  const folder = join(out, "sanity", model);
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(join(folder, "state.json"), JSON.stringify({ version: 1 }));
  await Deno.writeTextFile(join(folder, "accuracy.csv"), accuracyCsv(accuracyRows(model)));
  for (const method of methods) {
    await Deno.writeTextFile(join(folder, `${method}.csv`), partCsv(similarityRows(model, method)));
  }
  for (const name of [`${model}-labels-permuted`, `${model}-seed-${SEED + 1}`]) {
    const dir = join(out, "sanity", "checkpoints", `${name}_best`);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "meta.json"), "{}");
  }
}

async function readTables(out: string): Promise<Record<string, string>> {
  const tables: Record<string, string> = {};
  for (const [key, name] of Object.entries(SANITY_FILES)) {
    tables[key] = await Deno.readTextFile(join(out, "sanity", name));
  }
  return tables;
}

/** The combined tables one run over `models` writes. */
function expectedTables(models: Record<string, string[]>): Record<string, string> {
  const rows = Object.entries(models).flatMap(([model, methods]) =>
    methods.flatMap((method) => similarityRows(model, method))
  );
  const tables = combinedCsvs(rows);
  return {
    dataRandomisation: tables.dataRandomisation,
    seeds: tables.seeds,
    summary: summaryCsv(summariseSanity(rows, SEED)),
    accuracy: accuracyCsv(Object.keys(models).flatMap(accuracyRows)),
  };
}

Deno.test("merge combines the sanity folders of shards into the tables one run writes", async () => {
  await using dir = await testDir();
  const out = dir.path;
  // Shard 1/2 checked ecgnet and shard 2/2 resnet18; their outputs folders were copied together.
  await writeSanityFolder(out, "ecgnet", ["gradcam", "saliency"]);
  await writeSanityFolder(out, "resnet18", ["saliency"]);
  await merge({ config: { ...DEFAULT_CONFIG, out }, flags: {} });
  const expected = expectedTables({ ecgnet: ["gradcam", "saliency"], resnet18: ["saliency"] });
  assertEquals(await readTables(out), expected);
  assert(expected.summary.split("\n").length > 6, "every model, method and statistic");
  // A folder with scores but no accuracy.csv (the summary's seed) is named, not skipped.
  await Deno.remove(join(out, "sanity", "resnet18", "accuracy.csv"));
  await assertRejects(
    () => merge({ config: { ...DEFAULT_CONFIG, out }, flags: {} }),
    Error,
    "resnet18/accuracy.csv",
  );
});

Deno.test("a train on another data set moves the model's sanity files with its run, and back", async () => {
  await using dir = await testDir();
  const out = dir.path;
  const oldData = { root: "old", fingerprint: "0123456789abcdef", files: 1, bytes: 1 };
  const best = join(out, "checkpoints", "ecgnet_best");
  await Deno.mkdir(best, { recursive: true });
  await Deno.writeTextFile(
    join(best, "meta.json"),
    JSON.stringify({
      model: "ecgnet",
      classes: ["A", "B"],
      imgSizePx: 32,
      epoch: 1,
      valAccuracy: 1,
      config: { data: "old" },
      data: oldData,
    }),
  );
  await Deno.writeFile(join(best, "weights.bin"), new Uint8Array(4));
  await writeSanityFolder(out, "ecgnet", ["saliency"]);
  await writeSanityFolder(out, "ecgnet2", ["saliency"]); // another architecture: it stays
  await writeSanityTables(out);

  const lines: string[] = [];
  const newData = { root: "new", fingerprint: "fedcba9876543210", files: 1, bytes: 1 };
  await switchRun(out, "ecgnet", newData, (line) => lines.push(line));
  const parked = join(out, "runs", "old-01234567");
  assert(lines[0]?.includes(parked), lines.join("\n"));
  for (const path of ["ecgnet/saliency.csv", "checkpoints/ecgnet-seed-43_best/meta.json"]) {
    assert((await Deno.stat(join(parked, "sanity", path))).isFile, path);
  }
  const stayed = await Array.fromAsync(Deno.readDir(join(out, "sanity", "checkpoints")));
  assertEquals(stayed.map((e) => e.name).sort(), [
    "ecgnet2-labels-permuted_best",
    "ecgnet2-seed-43_best",
  ]);
  assertEquals(await readTables(out), expectedTables({ ecgnet2: ["saliency"] }));
  assertEquals(await readTables(parked), expectedTables({ ecgnet: ["saliency"] }));

  // Training on the old data again brings the run and its sanity files back.
  await switchRun(out, "ecgnet", oldData, (line) => lines.push(line));
  assert((await Deno.stat(join(out, "sanity", "ecgnet", "saliency.csv"))).isFile);
  assertEquals(
    await readTables(out),
    expectedTables({ ecgnet: ["saliency"], ecgnet2: ["saliency"] }),
  );
  await assertRejects(() => Deno.stat(parked), Deno.errors.NotFound);
});
