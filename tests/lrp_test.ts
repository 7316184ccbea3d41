/**
 * Layer-wise relevance propagation (`xai/relevance/`): conservation on a bias-free network,
 * the rule each layer gets against Zennit's rule maps in the torch-parity fixtures (the arrays
 * themselves are checked in `xai_parity_more_test.ts`), the canonizers of the families Zennit
 * has none for, finite maps on every architecture, and image groups within the heap budget.
 */
import { tf } from "../deps.ts";
import { startBackend } from "../backends/backend.ts";
import { heapBudgetMb, setHeapBudgetMb } from "../backends/heap.ts";
import { rowsWithinBudget } from "../graph/footprint.ts";
import { topologicalNodes } from "../graph/graph.ts";
import { ARCHITECTURES, buildModel } from "../models/registry.ts";
import { relevanceGraph } from "../xai/relevance/canonizers.ts";
import {
  type Composite,
  EPSILON_GAMMA_BOX,
  EPSILON_PLUS_FLAT,
  ruleMap,
} from "../xai/relevance/composites.ts";
import {
  LRP_EPSILON_GAMMA_BOX,
  LRP_EPSILON_PLUS_FLAT,
  lrpRelevance,
} from "../xai/relevance/lrp.ts";
import { assert, assertEquals } from "./assert.ts";
import { pathExists } from "./test_dirs.ts";
import { PARITY_DIR } from "./torch_parity_rule.ts";

await startBackend("wasm");

const COMPOSITES: readonly Composite[] = [EPSILON_PLUS_FLAT, EPSILON_GAMMA_BOX];

/**
 * conv → ReLU → max-pool → conv → ReLU, a residual sum with the pooled map, ReLU, global
 * average pooling, dense: every kind of step but concatenation and gates, and no bias anywhere.
 */
function biasFreeModel(): tf.LayersModel {
  const conv = (filters: number, seed: number) =>
    tf.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: "same",
      useBias: false,
      kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.5, seed }),
    });
  const relu = () => tf.layers.activation({ activation: "relu" });
  const x = tf.input({ shape: [8, 8, 3] });
  const h = relu().apply(conv(4, 1).apply(x)) as tf.SymbolicTensor;
  const pooled = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  const branch = relu().apply(conv(4, 2).apply(pooled)) as tf.SymbolicTensor;
  const sum = relu().apply(tf.layers.add().apply([pooled, branch])) as tf.SymbolicTensor;
  const features = tf.layers.globalAveragePooling2d({}).apply(sum) as tf.SymbolicTensor;
  const logits = tf.layers.dense({
    units: 3,
    useBias: false,
    kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: 3 }),
  }).apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: logits });
}

Deno.test("LRP conserves relevance on a bias-free network: the input's sum is the 1 put on the target", () => {
  const model = biasFreeModel();
  // Inside the box [0, 1] the zᴮ rule's bounds assume.
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const targets = Int32Array.of(0, 1, 2, 1);
  for (const composite of COMPOSITES) {
    const relevance = lrpRelevance(model, x, targets, composite, {
      low: [0, 0, 0],
      high: [1, 1, 1],
    });
    const sums = tf.sum(relevance, [1, 2, 3]).arraySync() as number[];
    // ε = 1e-6 at the dense layer takes 1e-6 / |z| of the relevance; z is of order 0.1 here.
    sums.forEach((sum, i) =>
      assert(Math.abs(sum - 1) < 1e-4, `${composite.name}, image ${i}: relevance sum ${sum}`)
    );
    relevance.dispose();
  }
  x.dispose();
  model.dispose();
});

/** The parts of `<arch>_more_expected.json` this test reads. */
interface RuleMapFixture {
  lrp: { rule_map: Record<string, Record<string, { count: number }>> };
}

/** Rules of linear layers and sums/pooling, whose counts fix which layer gets which rule. */
const COUNTED_RULES = ["Flat", "ZBox", "ZPlus", "Gamma", "Epsilon", "Norm"];

const ruleMapFixtures = (await pathExists(PARITY_DIR))
  ? [...Deno.readDirSync(PARITY_DIR)]
    .filter((e) => e.isFile && e.name.endsWith("_more_expected.json"))
    .map((e) => e.name.slice(0, -"_more_expected.json".length))
    .toSorted()
  : [];
if (ruleMapFixtures.length === 0) {
  Deno.test({
    name: `LRP rule maps: skipped, no <arch>_more_expected.json in ${PARITY_DIR}`,
    ignore: true,
    fn: () => {},
  });
}
for (const arch of ruleMapFixtures) {
  Deno.test(`LRP rule map of ${arch} counts what Zennit's does, rule by rule`, async () => {
    const fixture: RuleMapFixture = JSON.parse(
      await Deno.readTextFile(`${PARITY_DIR}/${arch}_more_expected.json`),
    );
    const model = buildModel(arch, { numClasses: 4, imgSizePx: 64, seed: 1 });
    try {
      for (const composite of COMPOSITES) {
        const theirs = fixture.lrp.rule_map[`lrp_${snakeCase(composite.name)}`];
        assert(theirs !== undefined, `${arch}: the fixture has no rule map for ${composite.name}`);
        const ours = ruleMap(relevanceGraph(model), composite);
        for (const rule of COUNTED_RULES) {
          const count = (ours[rule] ?? []).length;
          assertEquals(
            count,
            theirs[rule]?.count ?? 0,
            `${arch} ${composite.name}: ${rule} layers`,
          );
        }
      }
    } finally {
      model.dispose();
    }
  });
}

/** `EpsilonPlusFlat` → `epsilon_plus_flat`. */
function snakeCase(name: string): string {
  return name.replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase();
}

Deno.test("LRP canonizers: densenet merges the BatchNorms after convolutions, efficientnet's SE gate passes nothing", () => {
  const densenet = buildModel("densenet121", { numClasses: 4, imgSizePx: 64, seed: 1 });
  const efficientnet = buildModel("efficientnet_b0", { numClasses: 4, imgSizePx: 64, seed: 1 });
  try {
    const steps = relevanceGraph(densenet).steps;
    const merged = steps.filter((s) =>
      s.kind === "linear" && s.layers.some((l) => l.getClassName() === "BatchNormalization")
    ).map((s) => s.layers.at(-1)!.name);
    // The stem's norm0 and each dense layer's norm2 (after its 1x1 bottleneck): 1 + 6+12+24+16.
    assertEquals(merged.length, 59);
    assert(merged[0] === "features.norm0" && merged.every((n) => /norm0$|norm2$/.test(n)));
    // norm1 (after a concatenation), the transitions' norm and norm5 pass relevance unchanged.
    const passed = steps.filter((s) =>
      s.kind === "pass" && s.layers[0].getClassName() === "BatchNormalization"
    ).map((s) => s.layers[0].name);
    assertEquals(passed.length, 58 + 3 + 1);
    assert(
      steps.filter((s) => s.node.outboundLayer.name.endsWith("-cat")).every((s) =>
        s.kind === "gradient"
      ),
    );
    const gates = relevanceGraph(efficientnet).steps.filter((s) => s.kind === "gate");
    assertEquals(gates.length, 16, "one squeeze-excitation product per MBConv block of B0");
    for (const gate of gates) {
      // The gated activation, not the sigmoid, gets the relevance.
      const main = gate.inputs[gate.mainInput!];
      assert(!main.sourceLayer.name.endsWith("scale_activation"), gate.node.outboundLayer.name);
    }
  } finally {
    densenet.dispose();
    efficientnet.dispose();
  }
});

/**
 * Sets every BatchNorm's running statistics to those of its input on `xNHWC`, in forward order,
 * as the torch-parity fixtures do: with γ = 1, β = 0 and unit running variance, a random
 * efficientnet's logits are about 1e-13, far below LRP's 1e-6 stabiliser, which then absorbs all
 * of the relevance (Zennit's would too).
 */
function calibrateBatchNorm(model: tf.LayersModel, xNHWC: tf.Tensor4D): void {
  tf.tidy(() => {
    const values = new Map<number, tf.Tensor>([[model.inputs[0].id, xNHWC]]);
    for (const node of topologicalNodes(model)) {
      const layer = node.outboundLayer;
      const inputs = node.inputTensors.map((t) => values.get(t.id)!);
      if (layer.getClassName() === "BatchNormalization") {
        const { mean, variance } = tf.moments(inputs[0], [0, 1, 2]);
        const [gamma, beta] = layer.getWeights();
        layer.setWeights([gamma, beta, mean, variance]);
      }
      const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false });
      values.set(node.outputTensors[0].id, out as tf.Tensor);
    }
  });
}

for (const arch of ARCHITECTURES) {
  Deno.test(`LRP on ${arch.name} at 64 px: both composites give finite, non-zero maps`, async () => {
    const model = buildModel(arch.name, { numClasses: 4, imgSizePx: 64, seed: 1 });
    const calibration = tf.randomNormal([4, 64, 64, 3], 0, 1, "float32", 5) as tf.Tensor4D;
    const x = tf.slice(calibration, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    try {
      calibrateBatchNorm(model, calibration);
      for (const explainer of [LRP_EPSILON_PLUS_FLAT, LRP_EPSILON_GAMMA_BOX]) {
        const attr = await explainer.explain(model, x, Int32Array.of(2));
        assert(attr.mapsNHW.every(Number.isFinite), `${arch.name} ${explainer.name}: not finite`);
        assert(attr.mapsNHW.some((v) => v !== 0), `${arch.name} ${explainer.name}: all zero`);
      }
    } finally {
      tf.dispose([x, calibration]);
      model.dispose();
    }
  });
}

Deno.test("LRP in image groups within a small heap budget gives the whole batch's maps", async () => {
  const model = buildModel("ecgnet", { numClasses: 4, imgSizePx: 224, seed: 1 });
  const x = tf.randomNormal([3, 224, 224, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  const targets = Int32Array.of(0, 1, 3);
  const budgetMb = heapBudgetMb();
  try {
    const whole = await LRP_EPSILON_GAMMA_BOX.explain(model, x, targets, { keepChannels: true });
    setHeapBudgetMb(64);
    // ecgnet's gradient row at 224 px is about 21 MB beside 6 MB of weights: groups of 2 and 1.
    assertEquals(rowsWithinBudget(model, "gradient", 3), 2);
    const grouped = await LRP_EPSILON_GAMMA_BOX.explain(model, x, targets, { keepChannels: true });
    const maxDiff = whole.attributionsNHWC!.reduce(
      (m, v, i) => Math.max(m, Math.abs(v - grouped.attributionsNHWC![i])),
      0,
    );
    const maxAbs = whole.attributionsNHWC!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert(maxDiff <= 1e-5 * maxAbs, `grouped maps differ by ${maxDiff} (max ${maxAbs})`);
  } finally {
    setHeapBudgetMb(budgetMb);
    x.dispose();
    model.dispose();
  }
});
