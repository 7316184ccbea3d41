/**
 * The synthetic ECG signal: a parametric beat model in the style of ECGSYN (McSharry et al.,
 * "A dynamical model for generating synthetic electrocardiogram signals", IEEE TBME 2003),
 * where each beat is a sum of waves (P, Q, R, S, T Gaussians and an ST plateau) placed relative
 * to the R peak, with ST and T timing stretched by √RR as heart rate changes.
 *
 * Limb leads are projections of one frontal-plane vector per wave onto the hexaxial lead
 * directions, so Einthoven's relations hold for the clean beat (aVR comes out inverted on
 * its own); chest leads take per-wave amplitudes from a typical R-wave progression.
 *
 * **A benchmark by construction.** Every recording is drawn twice from the same random
 * state: once with its class's finding and once without it (its counterfactual twin). Rhythm,
 * wave shapes, axis, noise and baseline wander come from streams the class never touches, and
 * the finding's own draws come from a stream of their own, so the twins differ only where the
 * finding changes the signal. Those stretches — every run of samples where the two versions
 * differ by more than {@link EVIDENCE_THRESHOLD_MV} — are the recording's evidence spans, from
 * which the renderer draws the ground-truth mask. The findings (amplitudes in docs/data.md):
 *
 * - Normal: regular sinus rhythm, no finding; no evidence.
 * - MI: ST elevation in one contiguous lead group (anterior, inferior or lateral), from the J
 *   point into a tall, broad (hyperacute) T wave; evidence = those leads from the J point to
 *   the end of the T wave.
 * - HistoryMI: pathological Q waves and inverted T waves in one group, ST isoelectric;
 *   evidence = those leads' QRS complexes and T waves.
 * - Abnormal: premature ventricular beats (wide bizarre QRS, discordant T) in place of 3–5
 *   sinus beats, with a full compensatory pause (the sinus P waves stay on schedule); evidence
 *   = every lead from the premature beat's onset to where its own T wave or the replaced sinus
 *   beat's T wave ends.
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

/**
 * The finding's amplitudes and timing, each drawn uniformly from its [low, high] range; the
 * published ranges they sit in are cited in docs/data.md.
 */
export const FINDING_RANGES = {
  /** MI: ST elevation at the J point, mV (STEMI: ≥ 0.1 mV, ≥ 0.2 mV in V2–V3). */
  stElevationMv: [0.25, 0.6],
  /** MI: the hyperacute T wave grows by this share of the ST elevation. */
  hyperacuteTOfSt: 0.5,
  /** HistoryMI: depth of the pathological Q wave as a share of the lead's R height. */
  qDepthOfR: [0.45, 0.8],
  /** HistoryMI: least Q depth, mV (pathological: ≥ 0.1 mV). */
  qMinDepthMv: 0.3,
  /** HistoryMI: Q wave Gaussian width σ, s (full width at half depth 31–42 ms; ≥ 30 ms). */
  qWidthSeconds: [0.013, 0.018],
  /** HistoryMI: inverted T depth, mV (pathological: ≥ 0.1 mV). */
  tInversionMv: [0.25, 0.5],
  /** Abnormal: premature beat's coupling interval as a share of the sinus RR. */
  pvcCoupling: [0.5, 0.68],
} as const;

/** Heart-rate range of every class, bpm: the rhythm must not give the class away. */
export const HEART_RATE_RANGE_BPM = [55, 100] as const;

/**
 * Two versions of a recording differ visibly where their samples differ by more than this, in
 * mV: 0.001 mV is 0.01 mm of trace at 10 mm/mV, a twelfth of a pixel on a full-resolution scan.
 */
export const EVIDENCE_THRESHOLD_MV = 0.001;

/** Runs of differing samples closer than this, in s, are one evidence span (one box). */
const EVIDENCE_GAP_SECONDS = 0.04;

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
  /** Whether the finding was drawn; false for the counterfactual twin. */
  readonly withFinding: boolean;
  /** Samples per second of `signalsMv`. */
  readonly sampleRateHz: number;
  /** Length of every signal. */
  readonly durationSeconds: number;
  /** Samples in mV at times `i / sampleRateHz`, noise and baseline wander included. */
  readonly signalsMv: Readonly<Record<LeadName, Float32Array>>;
  /**
   * The counterfactual twin's samples: the same recording with the finding toggled (without
   * it when `withFinding`, with it otherwise); equal to `signalsMv` for Normal.
   */
  readonly twinSignalsMv: Readonly<Record<LeadName, Float32Array>>;
  /** Every beat drawn with an R peak in [−1 s, duration + 1 s], sorted by time. */
  readonly beats: readonly Beat[];
  /** 60 / mean RR of the sinus node's schedule (equal in both twins). */
  readonly heartRateBpm: number;
  /** The lead group carrying the infarct pattern (MI, HistoryMI), else null. */
  readonly leadGroup: LeadGroupName | null;
  /** Short names of the class's findings, e.g. `["pathological Q", "T inversion"]`. */
  readonly findings: readonly string[];
  /** ST-segment shift at J + 60 ms per lead in mV as drawn, before noise (0 where none). */
  readonly stShiftMv: Readonly<Record<LeadName, number>>;
  /** Where `signalsMv` and `twinSignalsMv` differ, per lead, restricted to [0, duration]. */
  readonly evidence: readonly EvidenceSpan[];
}

/** Options of {@link synthesizeRecording}. */
export interface SynthesizeOptions {
  /** Samples per second of the output signals. */
  sampleRateHz: number;
  /** Length of the recording; default 10 s, as on a standard report. */
  durationSeconds?: number;
  /** Draw the class's finding (default true); false draws the counterfactual twin. */
  withFinding?: boolean;
}

/** A Gaussian wave of a beat: time from the R peak, left/right widths and amplitude. */
interface GaussianWave {
  kind: "gaussian";
  centerSeconds: number;
  leftWidthSeconds: number;
  rightWidthSeconds: number;
  amplitudeMv: number;
  /** True for T: its timing follows QT, which stretches with √RR. */
  stretchesWithRr: boolean;
}

/**
 * A shift of the ST segment: rises over `rampSeconds` either side of the J point, holds, and
 * returns to baseline between T onset and T peak (those two stretch with √RR, the J point —
 * the end of the QRS — does not). Zero outside, so it changes nothing beyond that window.
 */
interface PlateauWave {
  kind: "plateau";
  jPointSeconds: number;
  rampSeconds: number;
  fallStartSeconds: number;
  fallEndSeconds: number;
  amplitudeMv: number;
}

type Wave = GaussianWave | PlateauWave;

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

/** End of the QRS, from the R peak: where an ST shift starts. */
const J_POINT_SECONDS = 0.05;

/** Gaussians are drawn out to this many widths, and are exactly 0 beyond. */
const GAUSSIAN_REACH = 4;

const DEG = Math.PI / 180;

function gaussianWave(
  centerSeconds: number,
  widthSeconds: number,
  amplitudeMv: number,
  stretchesWithRr = false,
): GaussianWave {
  return {
    kind: "gaussian",
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

/** The ST plateau of `amplitudeMv` for this image's timing: J point to T peak. */
function stPlateau(timing: Timing, amplitudeMv: number): PlateauWave {
  return {
    kind: "plateau",
    jPointSeconds: J_POINT_SECONDS,
    rampSeconds: 0.012,
    fallStartSeconds: timing.tCenterAtOneSecond - 2 * timing.tLeftWidth,
    fallEndSeconds: timing.tCenterAtOneSecond,
    amplitudeMv,
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
      ST: stPlateau(timing, 0),
      T: {
        kind: "gaussian",
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

/**
 * Replaces 3–5 non-adjacent sinus beats inside the page with early ectopic beats; returns, per
 * sinus beat index, the premature beat's R time where one replaces it.
 */
function choosePvcs(
  random: Random,
  sinusTimes: readonly number[],
  durationSeconds: number,
): Map<number, number> {
  const candidates = sinusTimes
    .map((_, i) => i)
    .filter((i) => i > 0 && i < sinusTimes.length - 1)
    .filter((i) => sinusTimes[i] > 0.6 && sinusTimes[i] < durationSeconds - 0.6);
  const wanted = Math.min(3 + randomInt(random, 3), Math.ceil(candidates.length / 2));
  const chosen = new Set<number>();
  for (let attempt = 0; chosen.size < wanted && attempt < 100; attempt++) {
    const i = candidates[randomInt(random, candidates.length)];
    if (!chosen.has(i - 1) && !chosen.has(i) && !chosen.has(i + 1)) chosen.add(i);
  }
  // The early beat leaves the sinus node's schedule alone, so the next sinus beat falls where
  // it would have anyway: a full compensatory pause.
  const pvcs = new Map<number, number>();
  for (const i of [...chosen].sort((a, b) => a - b)) {
    const previous = sinusTimes[i - 1];
    const coupling = randomBetween(random, ...FINDING_RANGES.pvcCoupling);
    pvcs.set(i, previous + coupling * (sinusTimes[i] - previous));
  }
  return pvcs;
}

/** Wave-shape factor at `dt` seconds from the R peak (1 at a Gaussian's peak or on a plateau). */
function waveShape(wave: Wave, dt: number, stretch: number): number {
  if (wave.kind === "gaussian") {
    const center = wave.centerSeconds * (wave.stretchesWithRr ? stretch : 1);
    const width = (dt < center ? wave.leftWidthSeconds : wave.rightWidthSeconds) *
      (wave.stretchesWithRr ? stretch : 1);
    const u = dt - center;
    return Math.exp((-0.5 * u * u) / (width * width));
  }
  const [riseStart, riseEnd, fallStart, fallEnd] = plateauCorners(wave, stretch);
  if (dt <= riseStart || dt >= fallEnd) return 0;
  if (dt < riseEnd) {
    return 0.5 - 0.5 * Math.cos((Math.PI * (dt - riseStart)) / (riseEnd - riseStart));
  }
  if (dt <= fallStart) return 1;
  return 0.5 + 0.5 * Math.cos((Math.PI * (dt - fallStart)) / (fallEnd - fallStart));
}

/** Rise start and end, fall start and end of a plateau, seconds from the R peak. */
function plateauCorners(wave: PlateauWave, stretch: number): [number, number, number, number] {
  const riseEnd = wave.jPointSeconds + wave.rampSeconds;
  const fallStart = Math.max(riseEnd, wave.fallStartSeconds * stretch);
  return [
    wave.jPointSeconds - wave.rampSeconds,
    riseEnd,
    fallStart,
    Math.max(fallStart + wave.rampSeconds, wave.fallEndSeconds * stretch),
  ];
}

/** The interval, seconds from the R peak, outside which `wave` is exactly 0. */
function waveSupport(wave: Wave, stretch: number): [number, number] {
  if (wave.kind === "plateau") {
    const [riseStart, , , fallEnd] = plateauCorners(wave, stretch);
    return [riseStart, fallEnd];
  }
  const s = wave.stretchesWithRr ? stretch : 1;
  return [
    (wave.centerSeconds - GAUSSIAN_REACH * wave.leftWidthSeconds) * s,
    (wave.centerSeconds + GAUSSIAN_REACH * wave.rightWidthSeconds) * s,
  ];
}

function addWave(
  out: Float32Array,
  wave: Wave,
  rSeconds: number,
  rrSeconds: number,
  sampleRateHz: number,
): void {
  if (wave.amplitudeMv === 0) return;
  const stretch = Math.sqrt(rrSeconds);
  const [from, to] = waveSupport(wave, stretch);
  const first = Math.max(0, Math.ceil((rSeconds + from) * sampleRateHz));
  const last = Math.min(out.length - 1, Math.floor((rSeconds + to) * sampleRateHz));
  if (wave.kind === "plateau") {
    for (let i = first; i <= last; i++) {
      out[i] += wave.amplitudeMv * waveShape(wave, i / sampleRateHz - rSeconds, stretch);
    }
    return;
  }
  // Gaussians are most of the samples drawn: their shape inlined.
  // Same float operations as waveShape, so the samples are bit for bit the same.
  const s = wave.stretchesWithRr ? stretch : 1;
  const center = wave.centerSeconds * s;
  const left = wave.leftWidthSeconds * s, right = wave.rightWidthSeconds * s;
  for (let i = first; i <= last; i++) {
    const dt = i / sampleRateHz - rSeconds;
    const width = dt < center ? left : right;
    const u = dt - center;
    out[i] += wave.amplitudeMv * Math.exp((-0.5 * u * u) / (width * width));
  }
}

/** Baseline wander (slow sinusoids) plus band-limited measurement noise, in mV. */
function noiseTrace(random: Random, sampleCount: number, sampleRateHz: number, noiseMv: number) {
  const out = new Float32Array(sampleCount);
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
    out[i] = baseline + filtered;
  }
  return out;
}

function pickLeadGroup(random: Random, weights: Record<LeadGroupName, number>): LeadGroupName {
  let u = random.uniform() * Object.values(weights).reduce((a, b) => a + b, 0);
  for (const [name, weight] of Object.entries(weights) as [LeadGroupName, number][]) {
    u -= weight;
    if (u < 0) return name;
  }
  return "anterior";
}

/** Waves of each lead placed at an R time, stretched by a sinus RR. */
interface PlacedWaves {
  rSeconds: number;
  /** The sinus RR whose √ stretches ST and T: the schedule's, so a PVC moves no other beat. */
  rrSeconds: number;
  /** The beat these waves make; undefined for a sinus P alone, under a premature beat. */
  beat?: Beat;
  waves: (lead: LeadName) => readonly Wave[];
}

/** A class's finding: what it changes in the clean recording, and how it is named. */
interface Finding {
  leadGroup: LeadGroupName | null;
  findings: string[];
  /** The clean morphology with the finding's changes. */
  morphology: Record<LeadName, LeadWaves>;
  /** Sinus beat index → R time of the premature beat that replaces it. */
  pvcs: Map<number, number>;
}

function copyMorphology(morphology: Record<LeadName, LeadWaves>): Record<LeadName, LeadWaves> {
  return Object.fromEntries(
    LEADS.map((lead) => [lead, structuredClone(morphology[lead])]),
  ) as Record<LeadName, LeadWaves>;
}

/** Draws `className`'s finding from `random` (a stream nothing else reads). */
function drawFinding(
  className: SynthClass,
  random: Random,
  clean: Record<LeadName, LeadWaves>,
  timing: Timing,
  sinusTimes: readonly number[],
  durationSeconds: number,
): Finding {
  const morphology = copyMorphology(clean);
  const finding: Finding = { leadGroup: null, findings: [], morphology, pvcs: new Map() };
  if (className === "MI") {
    const group = pickLeadGroup(random, { anterior: 0.45, inferior: 0.4, lateral: 0.15 });
    finding.leadGroup = group;
    finding.findings.push("ST elevation");
    for (const lead of LEAD_GROUPS[group]) {
      // The current of injury lifts the segment from the J point; the T wave rides on it and
      // grows tall and broad (hyperacute).
      const elevationMv = randomBetween(random, ...FINDING_RANGES.stElevationMv);
      const waves = morphology[lead];
      waves.ST = stPlateau(timing, elevationMv);
      waves.T.amplitudeMv = Math.max(waves.T.amplitudeMv, 0.1) +
        FINDING_RANGES.hyperacuteTOfSt * elevationMv;
    }
  } else if (className === "HistoryMI") {
    const group = pickLeadGroup(random, { anterior: 0.4, inferior: 0.4, lateral: 0.2 });
    finding.leadGroup = group;
    finding.findings.push("pathological Q", "T inversion");
    const qWidth = randomBetween(random, ...FINDING_RANGES.qWidthSeconds);
    for (const lead of LEAD_GROUPS[group]) {
      const waves = morphology[lead];
      const qDepthMv = Math.max(
        FINDING_RANGES.qMinDepthMv,
        Math.abs(waves.R.amplitudeMv) * randomBetween(random, ...FINDING_RANGES.qDepthOfR),
      );
      waves.Q = gaussianWave(-0.032, qWidth, -qDepthMv);
      // Lost R height and a shallower S turn the complex into a Qr or QS shape.
      waves.R.amplitudeMv *= randomBetween(random, 0.2, 0.5);
      waves.S.amplitudeMv *= 0.5;
      // Post-infarct T waves are symmetric and inverted.
      const width = randomBetween(random, 0.05, 0.065);
      waves.T = {
        ...(waves.T as GaussianWave),
        leftWidthSeconds: width,
        rightWidthSeconds: width,
        amplitudeMv: -randomBetween(random, ...FINDING_RANGES.tInversionMv),
      };
    }
  } else if (className === "Abnormal") {
    finding.findings.push("premature ventricular beats");
    finding.pvcs = choosePvcs(random, sinusTimes, durationSeconds);
  }
  return finding;
}

/** The beats of a recording: sinus beats, or a premature beat plus the sinus P on schedule. */
function placeBeats(
  sinusTimes: readonly number[],
  meanRrSeconds: number,
  morphology: Record<LeadName, LeadWaves>,
  pvcs: ReadonlyMap<number, number>,
  pvc: Record<LeadName, Wave[]>,
): PlacedWaves[] {
  const placed: PlacedWaves[] = [];
  sinusTimes.forEach((rSeconds, i) => {
    const rrSeconds = i > 0 ? rSeconds - sinusTimes[i - 1] : meanRrSeconds;
    const pvcSeconds = pvcs.get(i);
    if (pvcSeconds === undefined) {
      const beat: Beat = { rSeconds, kind: "sinus" };
      placed.push({ rSeconds, rrSeconds, beat, waves: (lead) => Object.values(morphology[lead]) });
      return;
    }
    const beat: Beat = { rSeconds: pvcSeconds, kind: "pvc" };
    placed.push({ rSeconds: pvcSeconds, rrSeconds, beat, waves: (lead) => pvc[lead] });
    // The sinus node fires on schedule; its P wave is drawn, usually hidden in the ST-T.
    placed.push({ rSeconds, rrSeconds, waves: (lead) => [morphology[lead].P] });
  });
  return placed;
}

/** Every lead's clean signal (no noise) of `beats`. */
function drawSignals(
  placed: readonly PlacedWaves[],
  sampleCount: number,
  sampleRateHz: number,
): Record<LeadName, Float32Array> {
  const signals = {} as Record<LeadName, Float32Array>;
  for (const lead of LEADS) {
    const out = new Float32Array(sampleCount);
    for (const { rSeconds, rrSeconds, waves } of placed) {
      for (const wave of waves(lead)) addWave(out, wave, rSeconds, rrSeconds, sampleRateHz);
    }
    signals[lead] = out;
  }
  return signals;
}

/**
 * The spans of `lead` where `a` and `b` differ by more than {@link EVIDENCE_THRESHOLD_MV}, one
 * sample wider on each side (a changed sample moves the two trace segments that meet at it).
 */
function differingSpans(
  lead: LeadName,
  a: Float32Array,
  b: Float32Array,
  sampleRateHz: number,
): EvidenceSpan[] {
  const spans: EvidenceSpan[] = [];
  const gap = Math.round(EVIDENCE_GAP_SECONDS * sampleRateHz);
  let first = -1, last = -1;
  const close = () => {
    if (first < 0) return;
    spans.push({
      lead,
      startSeconds: Math.max(0, first - 1) / sampleRateHz,
      endSeconds: Math.min(a.length - 1, last + 1) / sampleRateHz,
    });
  };
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i] - b[i]) <= EVIDENCE_THRESHOLD_MV) continue;
    if (first >= 0 && i - last > gap) {
      close();
      first = -1;
    }
    if (first < 0) first = i;
    last = i;
  }
  close();
  return spans;
}

/**
 * Synthesises a 10 s 12-lead recording of class `className`, with its finding or (with
 * `withFinding: false`) as its counterfactual twin from the same draws.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { SeededRandom } from "../../core/random.ts";
 * import { synthesizeRecording } from "./beat_model.ts";
 * const ecg = synthesizeRecording("MI", new SeededRandom(3), { sampleRateHz: 250 });
 * assert(ecg.signalsMv.V2.length === 2500 && ecg.leadGroup !== null);
 * assert(ecg.evidence.length > 0);
 * const twin = synthesizeRecording("MI", new SeededRandom(3), {
 *   sampleRateHz: 250,
 *   withFinding: false,
 * });
 * assert(twin.signalsMv.V2.every((v, i) => v === ecg.twinSignalsMv.V2[i]));
 * ```
 */
export function synthesizeRecording(
  className: SynthClass,
  random: Random,
  options: SynthesizeOptions,
): EcgRecording {
  const { sampleRateHz } = options;
  const durationSeconds = options.durationSeconds ?? 10;
  const withFinding = options.withFinding ?? true;
  const rhythmRandom = random.fork("rhythm");
  const shapeRandom = random.fork("morphology");

  const meanRrSeconds = 60 / randomBetween(rhythmRandom, ...HEART_RATE_RANGE_BPM);
  const variability = randomBetween(rhythmRandom, 0.01, 0.025);
  const sinusTimes = sinusBeatTimes(rhythmRandom, meanRrSeconds, variability, durationSeconds);
  const timing = drawTiming(shapeRandom);
  const clean = sinusMorphology(shapeRandom, timing);
  const pvc = pvcMorphology(shapeRandom);
  const finding = drawFinding(
    className,
    random.fork("class"),
    clean,
    timing,
    sinusTimes,
    durationSeconds,
  );

  const sampleCount = Math.round(durationSeconds * sampleRateHz);
  const withBeats = placeBeats(sinusTimes, meanRrSeconds, finding.morphology, finding.pvcs, pvc);
  const withoutBeats = placeBeats(sinusTimes, meanRrSeconds, clean, new Map(), pvc);
  const withSignals = drawSignals(withBeats, sampleCount, sampleRateHz);
  // Without a finding (Normal) the twins are one drawing.
  const withoutSignals = finding.findings.length === 0
    ? Object.fromEntries(LEADS.map((lead) => [lead, withSignals[lead].slice()])) as Record<
      LeadName,
      Float32Array
    >
    : drawSignals(withoutBeats, sampleCount, sampleRateHz);

  const noiseMv = randomBetween(random.fork("noise-level"), 0.006, 0.02);
  const evidence: EvidenceSpan[] = [];
  for (const lead of LEADS) {
    evidence.push(...differingSpans(lead, withSignals[lead], withoutSignals[lead], sampleRateHz));
    const noise = noiseTrace(random.fork(`noise/${lead}`), sampleCount, sampleRateHz, noiseMv);
    for (let i = 0; i < sampleCount; i++) {
      withSignals[lead][i] += noise[i];
      withoutSignals[lead][i] += noise[i];
    }
  }

  const drawn = withFinding ? finding.morphology : clean;
  const stShiftMv = Object.fromEntries(LEADS.map((lead) => {
    const st = drawn[lead].ST;
    // J + 60 ms, on a beat at the mean rate.
    const dt = J_POINT_SECONDS + 0.06;
    return [lead, st.amplitudeMv * waveShape(st, dt, Math.sqrt(meanRrSeconds))];
  })) as Record<LeadName, number>;
  const sinusRrs = sinusTimes.slice(1).map((t, i) => t - sinusTimes[i]);
  return {
    className,
    withFinding,
    sampleRateHz,
    durationSeconds,
    signalsMv: withFinding ? withSignals : withoutSignals,
    twinSignalsMv: withFinding ? withoutSignals : withSignals,
    beats: (withFinding ? withBeats : withoutBeats).flatMap(({ beat }) => beat ? [beat] : []),
    heartRateBpm: 60 / (sinusRrs.reduce((a, b) => a + b, 0) / sinusRrs.length),
    leadGroup: finding.leadGroup,
    findings: finding.findings,
    stShiftMv,
    evidence,
  };
}
