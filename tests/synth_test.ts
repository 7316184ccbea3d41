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
  LEAD_GROUPS,
  type LeadName,
  SYNTH_CLASSES,
  type SynthClass,
  synthesizeRecording,
} from "../data/synth/beat_model.ts";
import { renderSyntheticReport } from "../data/synth/render_report.ts";
import { PageTransform, reportHeightPx } from "../data/synth/report_layout.ts";
import { testDir } from "./test_dirs.ts";
import { FILE_PREFIXES, writeSyntheticDataset } from "../data/synth/synthetic_dataset.ts";

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
    const a = renderSyntheticReport(className, new SeededRandom(11).fork("x"), { widthPx: 320 });
    const b = renderSyntheticReport(className, new SeededRandom(11).fork("x"), { widthPx: 320 });
    const c = renderSyntheticReport(className, new SeededRandom(12).fork("x"), { widthPx: 320 });
    assert(equalBytes(a.image.data, b.image.data), `${className}: image differs`);
    assert(equalBytes(a.mask.data, b.mask.data), `${className}: mask differs`);
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

Deno.test("mask pixels lie on the drawn trace and are non-empty for every class", () => {
  for (const widthPx of [640, 1000]) {
    for (const className of SYNTH_CLASSES) {
      for (let seed = 1; seed <= 3; seed++) {
        const { image, mask, meta } = renderSyntheticReport(
          className,
          new SeededRandom(seed).fork(className),
          { widthPx },
        );
        assert(meta.maskPixels > 0, `${className} seed ${seed}: empty mask`);
        const w = image.widthPx, h = image.heightPx;
        const dark = (x: number, y: number) => {
          if (x < 0 || y < 0 || x >= w || y >= h) return false;
          const j = (y * w + x) * 4;
          const luminance = 0.299 * image.data[j] + 0.587 * image.data[j + 1] +
            0.114 * image.data[j + 2];
          return luminance < 128;
        };
        let off = 0, on = 0;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            if (mask.data[y * w + x] === 0) continue;
            assert(mask.data[y * w + x] === 255, "mask must be binary");
            on++;
            let near = false;
            for (let dy = -1; dy <= 1 && !near; dy++) {
              for (let dx = -1; dx <= 1 && !near; dx++) near = dark(x + dx, y + dy);
            }
            if (!near) off++;
          }
        }
        assertEquals(on, meta.maskPixels);
        assertEquals(off, 0, `${className} seed ${seed} @${widthPx}: ${off}/${on} off the trace`);
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
    await writeSyntheticDataset({ ...options, outDir: `${dir}/b` });
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
      assert(image.maskPixels > 0);
      if (image.className === "MI" || image.className === "HistoryMI") {
        assert(image.leadGroup !== null && image.affectedLeads.length > 0);
      }
    }

    let differing = 0;
    for (const file of files) {
      const a = await Deno.readFile(`${dir}/a/${file}`);
      assert(equalBytes(a, await Deno.readFile(`${dir}/b/${file}`)), `${file} not reproducible`);
      if (file === "synthetic.json") continue;
      if (!equalBytes(a, await Deno.readFile(`${dir}/c/${file}`))) differing++;
    }
    assertEquals(differing, files.length - 1, "another seed must change every image and mask");

    const picture = jpeg.decode(await Deno.readFile(`${dir}/a/train/MI/MI(2).jpg`), {
      useTArray: true,
    });
    assertEquals([picture.width, picture.height], [320, 227]);
    const mask = png.decode(await Deno.readFile(`${dir}/a/masks/train/MI/MI(2).png`));
    assertEquals([mask.width, mask.height, mask.channels, mask.depth], [320, 227, 1, 8]);
    assert(mask.data.some((v) => v === 255) && mask.data.every((v) => v === 0 || v === 255));
  });
});
