/**
 * Tests of the synthetic ECG report generator: font, determinism, written layout, mask
 * alignment with the drawn trace, and class physiology.
 *
 * @module
 */
import { jpeg, png } from "../deps.ts";
import { SeededRandom } from "../core/random.ts";
import { assert, assertEquals } from "./assert.ts";
import { hasGlyph, textRuns } from "../data/synth/bitmap_font.ts";
import {
  type EcgRecording,
  EVIDENCE_THRESHOLD_MV,
  LEAD_GROUPS,
  type LeadName,
  LEADS,
  SYNTH_CLASSES,
  type SynthClass,
  synthesizeRecording,
} from "../data/synth/beat_model.ts";
import { renderSyntheticReport } from "../data/synth/render_report.ts";
import { PageTransform, reportHeightPx } from "../data/synth/report_layout.ts";
import { testDir } from "./test_dirs.ts";
import {
  encodeReportJpeg,
  FILE_PREFIXES,
  syntheticImagePlan,
  writeSyntheticDataset,
} from "../data/synth/synthetic_dataset.ts";
import { shrinkMask } from "../data/masks.ts";
import { DEFAULT_CONFIG } from "../core/config.ts";
import { DEMO_IMAGES_PER_CLASS, DEMO_WIDTH_PX } from "../stages/data_synth.ts";
import { DEMO_IMG_SIZE_PX } from "../stages/demo.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  await using dir = await testDir();
  await fn(dir.path);
}

async function listFiles(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listFiles(root, path));
    else out.push(path);
  }
  return out.sort();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

Deno.test("bitmap font covers the header alphabet and stays inside its 5x9 cells", () => {
  const alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 :/.-()%~*+=,#\u2665";
  for (const char of alphabet) {
    assert(hasGlyph(char), `no glyph for ${char}`);
    for (const run of textRuns(char)) {
      assert(run.xCell >= 0 && run.xCell + run.lengthCells <= 5, `${char} too wide`);
      assert(run.yCell >= 0 && run.yCell < 9, `${char} too tall`);
    }
    if (char !== " ") assert(textRuns(char).length > 0, `empty glyph ${char}`);
  }
  let threw = false;
  try {
    textRuns("a@b");
  } catch {
    threw = true;
  }
  assert(threw, "unknown characters must throw");
});

Deno.test("page transform round-trips and keeps the real scans' aspect ratio", () => {
  assertEquals(reportHeightPx(640), 455);
  assertEquals(reportHeightPx(2213), 1572);
  const page = new PageTransform(640, -0.8, 1.2, -0.7);
  const [x, y] = page.toMm(...page.toPx(40, 150));
  assert(Math.abs(x - 40) < 1e-9 && Math.abs(y - 150) < 1e-9);
});

Deno.test("same stream gives identical pixels; another seed gives other pixels", () => {
  for (const className of SYNTH_CLASSES) {
    const options = { widthPx: 320, traceMask: true };
    const a = renderSyntheticReport(className, new SeededRandom(11).fork("x"), options);
    const b = renderSyntheticReport(className, new SeededRandom(11).fork("x"), options);
    const c = renderSyntheticReport(className, new SeededRandom(12).fork("x"), { widthPx: 320 });
    assert(equalBytes(a.image.data, b.image.data), `${className}: image differs`);
    assert(equalBytes(a.mask.data, b.mask.data), `${className}: mask differs`);
    assert(equalBytes(a.traceMask!.data, b.traceMask!.data), `${className}: trace mask differs`);
    assertEquals(a.meta, b.meta);
    assert(!equalBytes(a.image.data, c.image.data), `${className}: seed ignored`);
  }
});

Deno.test("default size is 640x455 and the mask matches the image", () => {
  const report = renderSyntheticReport("Normal", new SeededRandom(1));
  assertEquals([report.image.widthPx, report.image.heightPx], [640, 455]);
  assertEquals(report.image.data.length, 640 * 455 * 4);
  assertEquals([report.mask.widthPx, report.mask.heightPx], [640, 455]);
  assertEquals(report.mask.data.length, 640 * 455);
});

Deno.test("trace-mask pixels lie on the drawn trace, inside the mask; Normal's masks are empty", () => {
  for (const widthPx of [640, 1000]) {
    for (const className of SYNTH_CLASSES) {
      for (let seed = 1; seed <= 3; seed++) {
        const { image, mask, traceMask, meta } = renderSyntheticReport(
          className,
          new SeededRandom(seed).fork(className),
          { widthPx, traceMask: true },
        );
        assert(traceMask !== undefined);
        if (className === "Normal") {
          assertEquals(meta.maskPixels, 0);
          assert(mask.data.every((v) => v === 0) && traceMask.data.every((v) => v === 0));
          continue;
        }
        assert(meta.maskPixels > 0, `${className} seed ${seed}: empty mask`);
        const w = image.widthPx, h = image.heightPx;
        const dark = (x: number, y: number) => {
          if (x < 0 || y < 0 || x >= w || y >= h) return false;
          const j = (y * w + x) * 4;
          const luminance = 0.299 * image.data[j] + 0.587 * image.data[j + 1] +
            0.114 * image.data[j + 2];
          return luminance < 128;
        };
        let off = 0, on = 0, outside = 0;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            if (traceMask.data[y * w + x] === 0) continue;
            assert(traceMask.data[y * w + x] === 255, "trace mask must be binary");
            on++;
            if (mask.data[y * w + x] !== 255) outside++;
            let near = false;
            for (let dy = -1; dy <= 1 && !near; dy++) {
              for (let dx = -1; dx <= 1 && !near; dx++) near = dark(x + dx, y + dy);
            }
            if (!near) off++;
          }
        }
        assert(on > 0, `${className} seed ${seed}: empty trace mask`);
        assertEquals(off, 0, `${className} seed ${seed} @${widthPx}: ${off}/${on} off the trace`);
        assertEquals(outside, 0, `${className} seed ${seed} @${widthPx}: trace outside the boxes`);
        assert(mask.data.every((v) => v === 0 || v === 255), "mask must be binary");
        assertEquals(mask.data.filter((v) => v === 255).length, meta.maskPixels);
      }
    }
  }
});

Deno.test("the class enters only through its finding: a twin without it is the Normal page", () => {
  for (const className of SYNTH_CLASSES) {
    const stream = () => new SeededRandom(21).fork(`test/${className}/1`);
    const twin = renderSyntheticReport(className, stream(), { widthPx: 320, withFinding: false });
    const normal = renderSyntheticReport("Normal", stream(), { widthPx: 320 });
    assert(equalBytes(twin.image.data, normal.image.data), `${className}: twin is not Normal`);
    assertEquals(twin.meta.jpegQuality, normal.meta.jpegQuality);
    assertEquals(twin.meta.heartRateBpm, normal.meta.heartRateBpm);
    const drawn = renderSyntheticReport(className, stream(), { widthPx: 320 });
    // The twin keeps the finding's mask: the two pages differ there.
    assert(equalBytes(twin.mask.data, drawn.mask.data), `${className}: twin's mask differs`);
    assertEquals(drawn.meta.heartRateBpm, normal.meta.heartRateBpm);
    assertEquals(
      equalBytes(drawn.image.data, normal.image.data),
      className === "Normal",
      `${className}: the finding must change the page, and only a finding`,
    );
  }
});

Deno.test("evidence spans are exactly where a recording and its twin differ", () => {
  for (const className of SYNTH_CLASSES) {
    for (let seed = 1; seed <= 6; seed++) {
      const ecg = recording(className, seed);
      const twin = synthesizeRecording(className, new SeededRandom(seed), {
        sampleRateHz: 250,
        withFinding: false,
      });
      assertEquals(twin.evidence, ecg.evidence);
      assertEquals(twin.heartRateBpm, ecg.heartRateBpm);
      assertEquals(ecg.evidence.length === 0, className === "Normal");
      for (const lead of LEADS) {
        const a = ecg.signalsMv[lead], b = twin.signalsMv[lead];
        assert(b.every((v, i) => v === ecg.twinSignalsMv[lead][i]), `${lead}: twin signals`);
        const spans = ecg.evidence.filter((span) => span.lead === lead);
        const inside = (i: number) =>
          spans.some((span) => i / 250 >= span.startSeconds && i / 250 <= span.endSeconds);
        for (let i = 0; i < a.length; i++) {
          if (!inside(i)) {
            assert(Math.abs(a[i] - b[i]) <= EVIDENCE_THRESHOLD_MV, `${className} ${lead} @${i}`);
          }
        }
        for (const span of spans) {
          const first = Math.ceil(span.startSeconds * 250), last = span.endSeconds * 250;
          let changed = false;
          for (let i = first; i <= last && !changed; i++) changed = a[i] !== b[i];
          assert(changed, `${className} seed ${seed} ${lead}: span without a change`);
        }
      }
    }
  }
});

/** Mean over sinus beats of (signal at R + offset) − (signal on the PR segment). */
function meanDeflectionMv(ecg: EcgRecording, lead: LeadName, offsetSeconds: number): number {
  const signal = ecg.signalsMv[lead];
  const at = (t: number) => signal[Math.round(t * ecg.sampleRateHz)];
  const values = ecg.beats
    .filter((b) => b.kind === "sinus" && b.rSeconds > 0.3 && b.rSeconds < 9.5)
    .map((b) => at(b.rSeconds + offsetSeconds) - at(b.rSeconds - 0.085));
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function recording(className: SynthClass, seed: number): EcgRecording {
  return synthesizeRecording(className, new SeededRandom(seed), { sampleRateHz: 250 });
}

Deno.test("MI raises the ST segment of its lead group; Normal and HistoryMI do not", () => {
  for (let seed = 1; seed <= 12; seed++) {
    const mi = recording("MI", seed);
    assert(mi.leadGroup !== null);
    for (const lead of LEAD_GROUPS[mi.leadGroup]) {
      const st = meanDeflectionMv(mi, lead, 0.1);
      assert(st > 0.15, `MI seed ${seed} ${lead}: ST ${st.toFixed(3)} mV`);
      assert(mi.stShiftMv[lead] > 0.2);
      assert(mi.evidence.some((span) => span.lead === lead));
    }
    for (const className of ["Normal", "HistoryMI"] as const) {
      const other = recording(className, seed);
      for (const lead of ["II", "III", "aVF", "V1", "V2", "V3", "V4"] as const) {
        const st = meanDeflectionMv(other, lead, 0.09);
        assert(Math.abs(st) < 0.1, `${className} seed ${seed} ${lead}: ST ${st.toFixed(3)} mV`);
      }
    }
  }
});

Deno.test("HistoryMI has deep Q waves or inverted T waves in its group, marked as evidence", () => {
  for (let seed = 1; seed <= 12; seed++) {
    const ecg = recording("HistoryMI", seed);
    assert(ecg.leadGroup !== null && ecg.findings.length > 0);
    for (const lead of LEAD_GROUPS[ecg.leadGroup]) {
      if (ecg.findings.includes("pathological Q")) {
        const q = meanDeflectionMv(ecg, lead, -0.032);
        assert(q < -0.15, `seed ${seed} ${lead}: Q ${q.toFixed(3)} mV`);
      }
      if (ecg.findings.includes("T inversion")) {
        const beats = ecg.beats.filter((b) => b.rSeconds > 0.3 && b.rSeconds < 9);
        const rr = (beats.at(-1)!.rSeconds - beats[0].rSeconds) / (beats.length - 1);
        const t = meanDeflectionMv(ecg, lead, 0.3 * Math.sqrt(rr));
        assert(t < -0.08, `seed ${seed} ${lead}: T ${t.toFixed(3)} mV`);
      }
      assert(ecg.evidence.some((span) => span.lead === lead));
    }
  }
});

function rrCoefficientOfVariation(ecg: EcgRecording): number {
  const rr = ecg.beats.slice(1).map((b, i) => b.rSeconds - ecg.beats[i].rSeconds);
  const mean = rr.reduce((a, b) => a + b, 0) / rr.length;
  const variance = rr.reduce((a, b) => a + (b - mean) ** 2, 0) / rr.length;
  return Math.sqrt(variance) / mean;
}

Deno.test("Abnormal has premature wide beats and more RR variability than Normal", () => {
  for (let seed = 1; seed <= 12; seed++) {
    const abnormal = recording("Abnormal", seed);
    const normal = recording("Normal", seed);
    const pvcs = abnormal.beats.filter((b) => b.kind === "pvc" && b.rSeconds > 0);
    assert(pvcs.length >= 2, `seed ${seed}: ${pvcs.length} premature beats`);
    assert(normal.beats.every((b) => b.kind === "sinus"));
    assert(rrCoefficientOfVariation(abnormal) > 0.12, `seed ${seed}: Abnormal RR too regular`);
    assert(rrCoefficientOfVariation(normal) < 0.08, `seed ${seed}: Normal RR too irregular`);
    // Every premature beat is marked in all 12 leads.
    for (const pvc of pvcs) {
      const leads = new Set(
        abnormal.evidence
          .filter((s) => s.startSeconds <= pvc.rSeconds && s.endSeconds >= pvc.rSeconds)
          .map((s) => s.lead),
      );
      assertEquals(leads.size, 12);
    }
  }
});

Deno.test("written data set: layout, counts, sizes, metadata and byte-identical reruns", async () => {
  await withTempDir(async (dir) => {
    const progress: number[] = [];
    const options = { perClass: 7, seed: 5, widthPx: 320 };
    const summary = await writeSyntheticDataset({
      ...options,
      outDir: `${dir}/a`,
      onImage: (done, total) => {
        assertEquals(total, 28);
        progress.push(done);
      },
    });
    // Two workers render the same bytes as one.
    await writeSyntheticDataset({ ...options, outDir: `${dir}/b`, workers: 2 });
    await writeSyntheticDataset({ ...options, seed: 6, outDir: `${dir}/c` });
    assertEquals(progress, Array.from({ length: 28 }, (_, i) => i + 1));
    assertEquals(summary.root, `${dir}/a`);
    for (const className of SYNTH_CLASSES) {
      assertEquals(summary.counts.train[className], 5);
      assertEquals(summary.counts.val[className], 1);
      assertEquals(summary.counts.test[className], 1);
    }

    const files = await listFiles(`${dir}/a`);
    assertEquals(files.length, 28 * 2 + 1);
    assert(files.includes("synthetic.json"));
    assert(files.includes("train/Abnormal/HB(1).jpg"));
    assert(files.includes("val/HistoryMI/PMI(6).jpg"));
    assert(files.includes("test/MI/MI(7).jpg"));
    assert(files.includes("masks/test/Normal/Normal(7).png"));
    assert(files.every((f) => !f.endsWith(".tmp")));

    const description = JSON.parse(await Deno.readTextFile(`${dir}/a/synthetic.json`));
    assertEquals(description.seed, 5);
    assertEquals(description.perClass, 7);
    assertEquals(description.widthPx, 320);
    assertEquals(description.heightPx, 227);
    assertEquals(description.images.length, 28);
    for (const image of description.images) {
      assert(files.includes(image.file) && files.includes(image.mask));
      assert(image.file.startsWith(`${image.split}/${image.className}/`));
      assert(image.file.includes(`${FILE_PREFIXES[image.className as SynthClass]}(`));
      assert(image.heartRateBpm >= 40 && image.heartRateBpm <= 130);
      assertEquals(image.maskPixels > 0, image.className !== "Normal", image.file);
      if (image.className === "MI" || image.className === "HistoryMI") {
        assert(image.leadGroup !== null && image.affectedLeads.length > 0);
      }
      if (image.className === "Abnormal") assertEquals(image.affectedLeads.length, 12);
      if (image.className === "Normal") assertEquals(image.affectedLeads, []);
    }

    let differing = 0;
    for (const file of files) {
      const a = await Deno.readFile(`${dir}/a/${file}`);
      assert(equalBytes(a, await Deno.readFile(`${dir}/b/${file}`)), `${file} not reproducible`);
      if (file === "synthetic.json") continue;
      if (!equalBytes(a, await Deno.readFile(`${dir}/c/${file}`))) differing++;
    }
    // Normal's masks are empty whatever the seed.
    const normalMasks = files.filter((f) => f.startsWith("masks/") && f.includes("/Normal/"));
    assertEquals(normalMasks.length, 7);
    assertEquals(
      differing,
      files.length - 1 - normalMasks.length,
      "another seed must change every image and every mask with a finding",
    );

    const picture = jpeg.decode(await Deno.readFile(`${dir}/a/train/MI/MI(2).jpg`), {
      useTArray: true,
    });
    assertEquals([picture.width, picture.height], [320, 227]);
    const mask = png.decode(await Deno.readFile(`${dir}/a/masks/train/MI/MI(2).png`));
    assertEquals([mask.width, mask.height, mask.channels, mask.depth], [320, 227, 1, 8]);
    assert(mask.data.some((v) => v === 255) && mask.data.every((v) => v === 0 || v === 255));
  });
});

/**
 * Least share of the model input that must lie inside a mask's regions at the demo's input size:
 * 1 % (164 of 16,384 pixels at 128 px), counting only interior pixels (all 8 neighbours in the
 * mask as well). A coarse map puts its maximum at the centre of a cell (Grad-CAM on ecgnet: 32 x
 * 32 px at 128 px), and its mass in blobs, so PointingGame and the mass and rank shares can only
 * meet a mask that has an inside. The former one-pixel trace masks kept 1–4 % of the input at
 * 128 px, but as lines with next to no interior (0–17 px); the evidence boxes keep hundreds.
 */
const MIN_INTERIOR_SHARE = 0.01;

/** Pixels of a square 0/1 mask whose 3 x 3 neighbourhood lies wholly inside it. */
function interiorPixels(mask: Uint8Array, sizePx: number): number {
  let count = 0;
  for (let y = 1; y < sizePx - 1; y++) {
    for (let x = 1; x < sizePx - 1; x++) {
      let inside = true;
      for (let dy = -1; dy <= 1 && inside; dy++) {
        for (let dx = -1; dx <= 1 && inside; dx++) inside = mask[(y + dy) * sizePx + x + dx] !== 0;
      }
      if (inside) count++;
    }
  }
  return count;
}

/** Sum over pixels and RGB channels of |a − b|, split by the mask. */
function differenceByMask(a: Uint8Array, b: Uint8Array, mask: Uint8Array): [number, number] {
  let inside = 0, outside = 0;
  for (let i = 0; i < mask.length; i++) {
    let d = 0;
    for (let c = 0; c < 3; c++) d += Math.abs(a[i * 4 + c] - b[i * 4 + c]);
    if (mask[i] !== 0) inside += d;
    else outside += d;
  }
  return [inside, outside];
}

Deno.test("default set: each image differs from its counterfactual twin only inside its mask", () => {
  const decode = (bytes: Uint8Array) => jpeg.decode(bytes, { useTArray: true }).data as Uint8Array;
  for (
    const { split, className, stem, random } of syntheticImagePlan(
      DEMO_IMAGES_PER_CLASS,
      DEFAULT_CONFIG.seed,
    )
  ) {
    const name = `${split}/${stem}`;
    const options = { widthPx: DEMO_WIDTH_PX };
    const page = renderSyntheticReport(className, random, options);
    const twin = renderSyntheticReport(className, random, { ...options, withFinding: false });
    const [inside, outside] = differenceByMask(page.image.data, twin.image.data, page.mask.data);
    if (className === "Normal") {
      assertEquals([inside, outside, page.meta.maskPixels], [0, 0, 0], name);
      continue;
    }
    assert(inside > 0 && inside / (inside + outside) >= 0.99, `${name}: page ${inside}/${outside}`);
    // As written, on the images the metrics score (encoding is most of this test's time): JPEG's
    // 8 x 8 blocks spread a little of the difference round the boxes.
    if (split !== "test") continue;
    const [jpegInside, jpegOutside] = differenceByMask(
      decode(encodeReportJpeg(page.image, page.meta.jpegQuality)),
      decode(encodeReportJpeg(twin.image, twin.meta.jpegQuality)),
      page.mask.data,
    );
    const share = jpegInside / (jpegInside + jpegOutside);
    assert(share >= 0.99, `${name}: JPEG ${share.toFixed(4)} of the difference in the mask`);
  }
});

Deno.test("default set: every mask with a finding keeps an inside at the demo's input size", () => {
  const inputPixels = DEMO_IMG_SIZE_PX * DEMO_IMG_SIZE_PX;
  for (
    const { split, className, stem, random } of syntheticImagePlan(
      DEMO_IMAGES_PER_CLASS,
      DEFAULT_CONFIG.seed,
    )
  ) {
    if (className === "Normal") continue;
    const name = `${split}/${stem}`;
    const page = renderSyntheticReport(className, random, { widthPx: DEMO_WIDTH_PX });
    const interior = interiorPixels(shrinkMask(page.mask, DEMO_IMG_SIZE_PX), DEMO_IMG_SIZE_PX);
    assert(
      interior >= MIN_INTERIOR_SHARE * inputPixels,
      `${name}: ${interior} interior mask pixels at ${DEMO_IMG_SIZE_PX} px`,
    );
  }
});
