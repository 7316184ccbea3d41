/**
 * The synthetic ECG signal: a parametric beat model in the style of ECGSYN (McSharry et al.,
 * "A dynamical model for generating synthetic electrocardiogram signals", IEEE TBME 2003),
 * where each beat is a sum of Gaussian waves (P, Q, R, S, T) placed relative to the R peak,
 * with T timing stretched by √RR as heart rate changes.
 *
 * Limb leads are projections of one frontal-plane vector per wave onto the hexaxial lead
 * directions, so Einthoven's relations hold for the clean beat (aVR comes out inverted on
 * its own); chest leads take per-wave amplitudes from a typical R-wave progression. Each
 * class then changes the physiology, and every change is recorded as evidence spans (lead
 * and time interval) so the renderer can draw a ground-truth mask on exactly those traces:
 *
 * - Normal: regular sinus rhythm; evidence = the QRS complexes of lead II.
 * - MI: ST elevation in one contiguous lead group (anterior, inferior or lateral), with
 *   mild reciprocal depression; evidence = the ST segments (J point to T onset) there.
 * - HistoryMI: pathological Q waves and/or inverted T waves in one group, ST isoelectric;
 *   evidence = those Q waves and/or T waves.
 * - Abnormal: premature ventricular beats (no P, wide bizarre QRS, discordant T,
 *   compensatory pause) over a sinus rhythm with extra RR variability; evidence = the
 *   premature beats' QRS complexes in every lead.
 *
 * @module
 */
import { type Random, randomBetween, randomInt } from "../../core/random.ts";

/** The 12 standard leads, limb leads first. */
export const LEADS = [
  "I",
  "II",
  "III",
  "aVR",
  "aVL",
  "aVF",
  "V1",
  "V2",
  "V3",
  "V4",
  "V5",
  "V6",
] as const;

/** One of the 12 standard leads. */
export type LeadName = typeof LEADS[number];

/** The synthetic classes, named like the real data set's class folders. */
export const SYNTH_CLASSES = ["Abnormal", "HistoryMI", "MI", "Normal"] as const;

/** One synthetic class. */
export type SynthClass = typeof SYNTH_CLASSES[number];

/** Contiguous lead groups that look at one wall of the left ventricle. */
export const LEAD_GROUPS = {
  anterior: ["V1", "V2", "V3", "V4"],
  inferior: ["II", "III", "aVF"],
  lateral: ["I", "aVL", "V5", "V6"],
} as const satisfies Record<string, readonly LeadName[]>;

/** The name of a lead group. */
export type LeadGroupName = keyof typeof LEAD_GROUPS;

/** One heartbeat: its R-peak time and whether it is sinus or premature ventricular. */
export interface Beat {
  /** Time of the R peak from the start of the recording. */
  readonly rSeconds: number;
  /** Sinus (P-QRS-T from the sinus node) or premature ventricular. */
  readonly kind: "sinus" | "pvc";
}

/** A stretch of one lead's trace that carries the class evidence. */
export interface EvidenceSpan {
  /** The lead whose trace carries the evidence, wherever it is drawn. */
  readonly lead: LeadName;
  /** Start of the span, from the start of the recording. */
  readonly startSeconds: number;
  /** End of the span. */
  readonly endSeconds: number;
}

/** A synthesised 12-lead recording with what makes it its class. */
export interface EcgRecording {
  /** The class whose physiology was drawn. */
  readonly className: SynthClass;
  /** Samples per second of `signalsMv`. */
  readonly sampleRateHz: number;
  /** Length of every signal. */
  readonly durationSeconds: number;
  /** Samples in mV at times `i / sampleRateHz`, noise and baseline wander included. */
  readonly signalsMv: Readonly<Record<LeadName, Float32Array>>;
  /** Every beat with an R peak in [−1 s, duration + 1 s], sorted by time. */
  readonly beats: readonly Beat[];
  /** 60 / mean sinus RR interval. */
  readonly heartRateBpm: number;
  /** The lead group carrying the infarct pattern (MI, HistoryMI), else null. */
  readonly leadGroup: LeadGroupName | null;
  /** Short names of the abnormal findings drawn, e.g. `["pathological Q", "T inversion"]`. */
  readonly findings: readonly string[];
  /** ST-segment shift at J + 60 ms per lead in mV, before noise (0 where none was added). */
  readonly stShiftMv: Readonly<Record<LeadName, number>>;
  /** The traces that carry the class evidence, restricted to [0, duration]. */
  readonly evidence: readonly EvidenceSpan[];
}

/** Options of {@link synthesizeRecording}. */
export interface SynthesizeOptions {
  /** Samples per second of the output signals. */
  sampleRateHz: number;
  /** Length of the recording; default 10 s, as on a standard report. */
  durationSeconds?: number;
}

/** One Gaussian wave of a beat: time from the R peak, left/right widths and amplitude. */
interface Wave {
  centerSeconds: number;
  leftWidthSeconds: number;
  rightWidthSeconds: number;
  amplitudeMv: number;
  /** True for ST and T: their timing follows QT, which stretches with √RR. */
  stretchesWithRr: boolean;
}

type WaveName = "P" | "Q" | "R" | "S" | "ST" | "T";
type LeadWaves = Record<WaveName, Wave>;

/** Hexaxial directions of the limb leads in degrees (0 = lead I, clockwise positive). */
const LIMB_ANGLES_DEG: Partial<Record<LeadName, number>> = {
  I: 0,
  II: 60,
  III: 120,
  aVR: -150,
  aVL: -30,
  aVF: 90,
};

/** Typical chest-lead amplitudes in mV for V1..V6 (R progression, S regression). */
const CHEST_AMPLITUDES_MV: Record<"P" | "Q" | "R" | "S" | "T", readonly number[]> = {
  P: [0.07, 0.09, 0.1, 0.1, 0.1, 0.09],
  Q: [0, 0, -0.02, -0.05, -0.08, -0.08],
  R: [0.25, 0.5, 0.9, 1.4, 1.3, 1.0],
  S: [-0.9, -1.4, -0.9, -0.5, -0.25, -0.15],
  T: [0.05, 0.45, 0.45, 0.4, 0.3, 0.25],
};

/** Chest-lead PVC amplitudes (relative) for a right- and a left-ventricular origin. */
const PVC_CHEST_PATTERNS: readonly (readonly number[])[] = [
  [-1.0, -1.1, -0.7, 0.3, 0.9, 1.0],
  [1.0, 0.9, 0.7, 0.2, -0.4, -0.7],
];

const DEG = Math.PI / 180;

function gaussianWave(
  centerSeconds: number,
  widthSeconds: number,
  amplitudeMv: number,
  stretchesWithRr = false,
): Wave {
  return {
    centerSeconds,
    leftWidthSeconds: widthSeconds,
    rightWidthSeconds: widthSeconds,
    amplitudeMv,
    stretchesWithRr,
  };
}

/** Per-image wave timing shared by all leads. */
interface Timing {
  pCenter: number;
  pWidth: number;
  qWidth: number;
  rWidth: number;
  sWidth: number;
  tCenterAtOneSecond: number;
  tLeftWidth: number;
  tRightWidth: number;
}

function drawTiming(random: Random): Timing {
  return {
    pCenter: -randomBetween(random, 0.15, 0.19),
    pWidth: randomBetween(random, 0.02, 0.028),
    qWidth: randomBetween(random, 0.007, 0.01),
    rWidth: randomBetween(random, 0.009, 0.013),
    sWidth: randomBetween(random, 0.008, 0.011),
    tCenterAtOneSecond: randomBetween(random, 0.27, 0.32),
    tLeftWidth: randomBetween(random, 0.055, 0.075),
    tRightWidth: randomBetween(random, 0.035, 0.05),
  };
}

/** The normal sinus beat of every lead for this image. */
function sinusMorphology(random: Random, timing: Timing): Record<LeadName, LeadWaves> {
  const gain = randomBetween(random, 0.75, 1.25);
  const rAxisDeg = randomBetween(random, -15, 85);
  const vectors = {
    P: { magnitude: randomBetween(random, 0.12, 0.22), axisDeg: randomBetween(random, 40, 70) },
    // Septal depolarisation points right and up: small q in I, II, aVL, small r in aVR.
    Q: { magnitude: randomBetween(random, 0.06, 0.14), axisDeg: rAxisDeg + 140 },
    R: { magnitude: randomBetween(random, 0.9, 1.5), axisDeg: rAxisDeg },
    S: { magnitude: randomBetween(random, 0.15, 0.4), axisDeg: rAxisDeg + 220 },
    T: {
      magnitude: randomBetween(random, 0.25, 0.45),
      axisDeg: rAxisDeg + randomBetween(random, -25, 25),
    },
  };
  const morphology = {} as Record<LeadName, LeadWaves>;
  LEADS.forEach((lead, index) => {
    const jitter = () => gain * randomBetween(random, 0.85, 1.15);
    const limbAngle = LIMB_ANGLES_DEG[lead];
    const amplitude = (wave: keyof typeof vectors): number => {
      if (limbAngle === undefined) return CHEST_AMPLITUDES_MV[wave][index - 6] * jitter();
      // Goldberger's augmented leads see the vector at √3/2 of the bipolar leads' scale.
      const scale = lead.startsWith("aV") ? Math.sqrt(3) / 2 : 1;
      const { magnitude, axisDeg } = vectors[wave];
      return magnitude * scale * Math.cos((limbAngle - axisDeg) * DEG) * jitter();
    };
    morphology[lead] = {
      P: gaussianWave(timing.pCenter, timing.pWidth, amplitude("P")),
      Q: gaussianWave(-0.028, timing.qWidth, amplitude("Q")),
      R: gaussianWave(0, timing.rWidth, amplitude("R")),
      S: gaussianWave(0.028, timing.sWidth, amplitude("S")),
      ST: gaussianWave(0.1, 0.07, 0, true),
      T: {
        centerSeconds: timing.tCenterAtOneSecond,
        leftWidthSeconds: timing.tLeftWidth,
        rightWidthSeconds: timing.tRightWidth,
        amplitudeMv: amplitude("T"),
        stretchesWithRr: true,
      },
    };
  });
  return morphology;
}

/** The premature ventricular beat of every lead: wide biphasic QRS, discordant T. */
function pvcMorphology(random: Random): Record<LeadName, Wave[]> {
  const magnitude = randomBetween(random, 1.1, 1.9);
  const axisDeg = randomBetween(random, -120, 180);
  const chest = PVC_CHEST_PATTERNS[randomInt(random, PVC_CHEST_PATTERNS.length)];
  const mainWidth = randomBetween(random, 0.028, 0.038);
  const tailWidth = randomBetween(random, 0.025, 0.035);
  const morphology = {} as Record<LeadName, Wave[]>;
  LEADS.forEach((lead, index) => {
    const limbAngle = LIMB_ANGLES_DEG[lead];
    const scale = lead.startsWith("aV") ? Math.sqrt(3) / 2 : 1;
    const main = limbAngle === undefined
      ? magnitude * chest[index - 6]
      : magnitude * scale * Math.cos((limbAngle - axisDeg) * DEG);
    morphology[lead] = [
      gaussianWave(0, mainWidth, main),
      gaussianWave(0.07, tailWidth, -0.45 * main),
      gaussianWave(0.3, 0.07, -0.3 * main),
    ];
  });
  return morphology;
}

/** Time window, relative to the R peak, of a PVC's QRS (its two wide deflections). */
function pvcQrsWindow(pvc: readonly Wave[]): [number, number] {
  const [main, tail] = pvc;
  return [
    main.centerSeconds - 2.5 * main.leftWidthSeconds,
    tail.centerSeconds + 2.5 * tail.rightWidthSeconds,
  ];
}

/** R-peak times of a sinus rhythm covering [−1 s, duration + 1 s]. */
function sinusBeatTimes(
  random: Random,
  meanRrSeconds: number,
  variability: number,
  durationSeconds: number,
): number[] {
  // Respiratory sinus arrhythmia plus beat-to-beat jitter.
  const breathSeconds = randomBetween(random, 3, 6);
  const breathPhase = randomBetween(random, 0, 2 * Math.PI);
  const times: number[] = [];
  let t = -1 + randomBetween(random, 0, meanRrSeconds);
  while (t <= durationSeconds + 1) {
    times.push(t);
    const breath = Math.sin((2 * Math.PI * t) / breathSeconds + breathPhase);
    const factor = 1 + variability * (0.6 * breath + 0.8 * random.normal());
    t += meanRrSeconds * Math.min(1.4, Math.max(0.7, factor));
  }
  return times;
}

/** Replaces 2–4 non-adjacent sinus beats inside the page with early ectopic beats. */
function insertPvcs(random: Random, sinusTimes: number[], durationSeconds: number): Beat[] {
  const beats: Beat[] = sinusTimes.map((rSeconds) => ({ rSeconds, kind: "sinus" }));
  const candidates = beats
    .map((_, i) => i)
    .filter((i) => i > 0 && i < beats.length - 1)
    .filter((i) => beats[i].rSeconds > 0.6 && beats[i].rSeconds < durationSeconds - 0.6);
  const wanted = Math.min(2 + randomInt(random, 3), Math.ceil(candidates.length / 2));
  const chosen = new Set<number>();
  for (let attempt = 0; chosen.size < wanted && attempt < 100; attempt++) {
    const i = candidates[randomInt(random, candidates.length)];
    if (!chosen.has(i - 1) && !chosen.has(i) && !chosen.has(i + 1)) chosen.add(i);
  }
  // The early beat keeps the sinus node's schedule, so the next sinus beat falls where it
  // would have anyway: a full compensatory pause.
  for (const i of chosen) {
    const previous = beats[i - 1].rSeconds;
    const coupling = randomBetween(random, 0.5, 0.68);
    beats[i] = { rSeconds: previous + coupling * (beats[i].rSeconds - previous), kind: "pvc" };
  }
  return beats;
}

function addWave(
  out: Float32Array,
  wave: Wave,
  rSeconds: number,
  rrSeconds: number,
  sampleRateHz: number,
): void {
  if (wave.amplitudeMv === 0) return;
  const stretch = wave.stretchesWithRr ? Math.sqrt(rrSeconds) : 1;
  const center = rSeconds + wave.centerSeconds * stretch;
  const left = wave.leftWidthSeconds * stretch, right = wave.rightWidthSeconds * stretch;
  const first = Math.max(0, Math.ceil((center - 4 * left) * sampleRateHz));
  const last = Math.min(out.length - 1, Math.floor((center + 4 * right) * sampleRateHz));
  for (let i = first; i <= last; i++) {
    const dt = i / sampleRateHz - center;
    const width = dt < 0 ? left : right;
    out[i] += wave.amplitudeMv * Math.exp((-0.5 * dt * dt) / (width * width));
  }
}

/** Baseline wander (slow sinusoids) plus band-limited measurement noise, in mV. */
function addNoise(random: Random, out: Float32Array, sampleRateHz: number, noiseMv: number) {
  const wander = Array.from({ length: 2 }, () => ({
    amplitudeMv: randomBetween(random, 0.01, 0.08),
    frequencyHz: randomBetween(random, 0.1, 0.45),
    phase: randomBetween(random, 0, 2 * Math.PI),
  }));
  // One-pole low-pass at ~35 Hz: recorders filter the noise, so it wiggles, not fizzes.
  const pole = Math.exp((-2 * Math.PI * 35) / sampleRateHz);
  const innovation = noiseMv * Math.sqrt(1 - pole * pole);
  let filtered = noiseMv * random.normal();
  for (let i = 0; i < out.length; i++) {
    const t = i / sampleRateHz;
    filtered = pole * filtered + innovation * random.normal();
    let baseline = 0;
    for (const w of wander) {
      baseline += w.amplitudeMv * Math.sin(2 * Math.PI * w.frequencyHz * t + w.phase);
    }
    out[i] += baseline + filtered;
  }
}

function pickLeadGroup(random: Random, weights: Record<LeadGroupName, number>): LeadGroupName {
  let u = random.uniform() * Object.values(weights).reduce((a, b) => a + b, 0);
  for (const [name, weight] of Object.entries(weights) as [LeadGroupName, number][]) {
    u -= weight;
    if (u < 0) return name;
  }
  return "anterior";
}

/** Leads opposite each group, where an acute infarct shows mirror-image ST depression. */
const RECIPROCAL_LEADS: Record<LeadGroupName, readonly LeadName[]> = {
  anterior: ["III", "aVF"],
  inferior: ["I", "aVL"],
  lateral: ["III", "aVF"],
};

/**
 * Synthesises a 10 s 12-lead recording of class `className`.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { synthesizeRecording } from "./beat_model.ts";
 * const ecg = synthesizeRecording("MI", new SeededRandom(3), { sampleRateHz: 250 });
 * assert(ecg.signalsMv.V2.length === 2500 && ecg.leadGroup !== null);
 * assert(ecg.evidence.length > 0);
 * ```
 */
export function synthesizeRecording(
  className: SynthClass,
  random: Random,
  options: SynthesizeOptions,
): EcgRecording {
  const { sampleRateHz } = options;
  const durationSeconds = options.durationSeconds ?? 10;
  const rhythmRandom = random.fork("rhythm");
  const shapeRandom = random.fork("morphology");
  const classRandom = random.fork("class");

  const heartRateRange: Record<SynthClass, [number, number]> = {
    Normal: [58, 98],
    MI: [55, 110],
    HistoryMI: [52, 95],
    Abnormal: [60, 105],
  };
  const [lowBpm, highBpm] = heartRateRange[className];
  const meanRrSeconds = 60 / randomBetween(rhythmRandom, lowBpm, highBpm);
  const variability = className === "Abnormal"
    ? randomBetween(rhythmRandom, 0.05, 0.1)
    : randomBetween(rhythmRandom, 0.01, 0.025);
  const sinusTimes = sinusBeatTimes(rhythmRandom, meanRrSeconds, variability, durationSeconds);
  const beats = className === "Abnormal"
    ? insertPvcs(rhythmRandom, sinusTimes, durationSeconds)
    : sinusTimes.map((rSeconds): Beat => ({ rSeconds, kind: "sinus" }));

  const timing = drawTiming(shapeRandom);
  const morphology = sinusMorphology(shapeRandom, timing);
  const pvc = pvcMorphology(shapeRandom);

  const stShiftMv = Object.fromEntries(LEADS.map((lead) => [lead, 0])) as Record<
    LeadName,
    number
  >;
  const findings: string[] = [];
  const evidenceLeads: { lead: LeadName; window: (rrSeconds: number) => [number, number] }[] = [];
  let leadGroup: LeadGroupName | null = null;

  if (className === "MI") {
    leadGroup = pickLeadGroup(classRandom, { anterior: 0.45, inferior: 0.4, lateral: 0.15 });
    findings.push("ST elevation");
    for (const lead of LEAD_GROUPS[leadGroup]) {
      const waves = morphology[lead];
      const elevationMv = randomBetween(classRandom, 0.25, 0.5);
      waves.ST.amplitudeMv = elevationMv;
      // Hyperacute T and a shrinking S come with the current of injury.
      waves.T.amplitudeMv = Math.max(waves.T.amplitudeMv, 0.1) + 0.5 * elevationMv;
      waves.S.amplitudeMv *= 0.5;
      evidenceLeads.push({
        lead,
        // J point to T onset, where the elevated segment runs.
        window: (rr) => [
          0.04,
          Math.max(0.14, (timing.tCenterAtOneSecond - timing.tLeftWidth) * Math.sqrt(rr)),
        ],
      });
    }
    for (const lead of RECIPROCAL_LEADS[leadGroup]) {
      morphology[lead].ST.amplitudeMv = -randomBetween(classRandom, 0.05, 0.12);
    }
    for (const lead of LEADS) {
      const st = morphology[lead].ST;
      // ST is a Gaussian at 0.1 s × √RR; J + 60 ms sits near its peak.
      const dt = 0.1 - st.centerSeconds * Math.sqrt(meanRrSeconds);
      stShiftMv[lead] = st.amplitudeMv * Math.exp((-0.5 * dt * dt) / (st.leftWidthSeconds ** 2));
    }
  } else if (className === "HistoryMI") {
    leadGroup = pickLeadGroup(classRandom, { anterior: 0.4, inferior: 0.4, lateral: 0.2 });
    const u = classRandom.uniform();
    const withQ = u < 0.75, withT = u >= 0.4;
    if (withQ) findings.push("pathological Q");
    if (withT) findings.push("T inversion");
    const qWidth = randomBetween(classRandom, 0.013, 0.018);
    const qCenter = -0.032;
    for (const lead of LEAD_GROUPS[leadGroup]) {
      const waves = morphology[lead];
      if (withQ) {
        const rMv = Math.abs(waves.R.amplitudeMv);
        waves.Q = gaussianWave(
          qCenter,
          qWidth,
          -Math.max(0.3, rMv * randomBetween(classRandom, 0.45, 0.8)),
        );
        // Lost R height and a shallower S turn the complex into a Qr or QS shape.
        waves.R.amplitudeMv *= randomBetween(classRandom, 0.2, 0.5);
        waves.S.amplitudeMv *= 0.5;
        evidenceLeads.push({ lead, window: () => [qCenter - 2.2 * qWidth, qCenter + qWidth] });
      }
      if (withT) {
        // Post-infarct T waves are symmetric and inverted.
        const width = randomBetween(classRandom, 0.05, 0.065);
        waves.T = {
          ...waves.T,
          leftWidthSeconds: width,
          rightWidthSeconds: width,
          amplitudeMv: -randomBetween(classRandom, 0.18, 0.4),
        };
        evidenceLeads.push({
          lead,
          window: (rr) => {
            const center = timing.tCenterAtOneSecond * Math.sqrt(rr);
            return [center - 2 * width * Math.sqrt(rr), center + 2 * width * Math.sqrt(rr)];
          },
        });
      }
    }
  } else if (className === "Abnormal") {
    findings.push("premature ventricular beats");
  } else {
    evidenceLeads.push({ lead: "II", window: () => [-0.05, 0.05] });
  }

  const sampleCount = Math.round(durationSeconds * sampleRateHz);
  const signalsMv = {} as Record<LeadName, Float32Array>;
  const noiseMv = randomBetween(random.fork("noise-level"), 0.006, 0.02);
  for (const lead of LEADS) {
    const out = new Float32Array(sampleCount);
    beats.forEach((beat, i) => {
      const rr = i > 0 ? beat.rSeconds - beats[i - 1].rSeconds : meanRrSeconds;
      const waves = beat.kind === "pvc" ? pvc[lead] : Object.values(morphology[lead]);
      for (const wave of waves) addWave(out, wave, beat.rSeconds, rr, sampleRateHz);
    });
    addNoise(random.fork(`noise/${lead}`), out, sampleRateHz, noiseMv);
    signalsMv[lead] = out;
  }

  const evidence: EvidenceSpan[] = [];
  const clip = (lead: LeadName, start: number, end: number) => {
    const startSeconds = Math.max(0, start), endSeconds = Math.min(durationSeconds, end);
    if (endSeconds > startSeconds) evidence.push({ lead, startSeconds, endSeconds });
  };
  beats.forEach((beat, i) => {
    const rr = i > 0 ? beat.rSeconds - beats[i - 1].rSeconds : meanRrSeconds;
    if (beat.kind === "pvc") {
      const [start, end] = pvcQrsWindow(pvc.I);
      for (const lead of LEADS) clip(lead, beat.rSeconds + start, beat.rSeconds + end);
    } else {
      for (const { lead, window } of evidenceLeads) {
        const [start, end] = window(rr);
        clip(lead, beat.rSeconds + start, beat.rSeconds + end);
      }
    }
  });

  const sinusRrs = beats.flatMap((b, i) =>
    i > 0 && b.kind === "sinus" && beats[i - 1].kind === "sinus"
      ? [b.rSeconds - beats[i - 1].rSeconds]
      : []
  );
  const meanSinusRr = sinusRrs.length === 0
    ? meanRrSeconds
    : sinusRrs.reduce((a, b) => a + b, 0) / sinusRrs.length;
  return {
    className,
    sampleRateHz,
    durationSeconds,
    signalsMv,
    beats,
    heartRateBpm: 60 / meanSinusRr,
    leadGroup,
    findings,
    stShiftMv,
    evidence,
  };
}
