/**
 * JPEG files written: a baseline (sequential, Huffman) JFIF encoder for RGBA rasters, the JPEG
 * twin of `png_file.ts`. The synthetic generator writes every report page with it.
 *
 * Why our own: jpeg-js 0.4.4 took 29–35 ms for one 640 x 455 report page, more than rendering it
 * (about 25 ms), so the generator missed its 20 images/s. This encoder keeps everything in typed
 * arrays: one pass converts RGB to level-shifted YCbCr planes padded to whole MCUs, each 8 x 8
 * block goes through a separable float AAN (Arai–Agui–Nakajima) forward DCT whose output scaling
 * is folded with the quantiser into one reciprocal table, and Huffman codes are looked up by
 * `run << 4 | size` and written through a 32-bit bit accumulator into a growable byte buffer.
 *
 * Chroma is subsampled 4:2:0 (2 x 2 luma blocks share one Cb and one Cr block): it is what the
 * real ECG scans are (their frames declare Y 2x2, Cb 1x1, Cr 1x1), and it halves the DCT and
 * entropy-coding work of the two chroma planes. Widths and heights that are not multiples of 16
 * are padded by replicating the last column and row, so the padding adds no edge to code.
 * Measured on 10 rendered 640 px pages (`bench/jpeg_encode_bench.ts`, one run, both interleaved):
 * 4:2:0 took 10.1 ms per page against jpeg-js's 37.8 ms (3.7x), 4:4:4 about 20 ms (1.4x).
 *
 * Tables are the standard ones of ITU T.81 Annex K, scaled by quality the IJG way (libjpeg's
 * `jpeg_quality_scaling`), except that chroma is quantised with the luminance table (see
 * `LUMA_QUANT`). The output depends only on the pixels and the quality.
 *
 * @module
 */
import { InputError } from "../core/errors.ts";
import type { RgbaImage } from "./image.ts";

/** Natural (row-major) index of the k-th coefficient in zig-zag order (T.81 Figure A.6). */
const ZIGZAG = new Uint8Array(64);
{
  let k = 0;
  for (let diagonal = 0; diagonal < 15; diagonal++) {
    // Even diagonals run up and to the right, odd ones down and to the left.
    const first = Math.max(0, diagonal - 7), last = Math.min(7, diagonal);
    for (let i = first; i <= last; i++) {
      const row = diagonal % 2 === 0 ? diagonal - i : i;
      ZIGZAG[k++] = row * 8 + (diagonal - row);
    }
  }
}

/**
 * Annex K.1 luminance quantiser at quality 50, in natural order, used for all three components:
 * a 4:2:0 chroma block covers 16 x 16 px, so Annex K's coarse chrominance steps spread a trace's
 * colour over twice the reach of a luma block, and the synthetic twins' difference leaked past
 * the 2.5 mm mask margin (test/MI(145) of the default set: just over 1 % outside the mask).
 */
// deno-fmt-ignore
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61,
  12, 12, 14, 19, 26, 58, 60, 55,
  14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77,
  24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];

/** A Huffman table as DHT writes it: code counts per length 1..16, then the symbols. */
interface HuffmanSpec {
  readonly counts: readonly number[];
  readonly symbols: readonly number[];
}

const DC_SYMBOLS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/** Annex K.3 Tables K.3–K.6. */
const LUMA_DC: HuffmanSpec = {
  counts: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
  symbols: DC_SYMBOLS,
};
const CHROMA_DC: HuffmanSpec = {
  counts: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
  symbols: DC_SYMBOLS,
};
const LUMA_AC: HuffmanSpec = {
  counts: [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  symbols: hexBytes(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25" +
      "262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a" +
      "838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca" +
      "d2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa",
  ),
};
const CHROMA_AC: HuffmanSpec = {
  counts: [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  symbols: hexBytes(
    "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718" +
      "191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a" +
      "82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca" +
      "d2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa",
  ),
};

function hexBytes(hex: string): number[] {
  return Array.from(
    { length: hex.length / 2 },
    (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
}

/** Codes and lengths of a table, indexed by symbol (T.81 Annex C). */
interface HuffmanCodes {
  readonly code: Uint16Array;
  readonly length: Uint8Array;
}

function huffmanCodes(spec: HuffmanSpec): HuffmanCodes {
  const code = new Uint16Array(256), length = new Uint8Array(256);
  let next = 0, k = 0;
  for (let bits = 1; bits <= 16; bits++) {
    for (let i = 0; i < spec.counts[bits - 1]; i++) {
      const symbol = spec.symbols[k++];
      code[symbol] = next++;
      length[symbol] = bits;
    }
    next <<= 1;
  }
  return { code, length };
}

const LUMA_DC_CODES = huffmanCodes(LUMA_DC);
const LUMA_AC_CODES = huffmanCodes(LUMA_AC);
const CHROMA_DC_CODES = huffmanCodes(CHROMA_DC);
const CHROMA_AC_CODES = huffmanCodes(CHROMA_AC);

/** AAN output scale of coefficient k: 1 for k = 0, √2·cos(kπ/16) otherwise. */
const AAN_SCALE = Float64Array.from(
  { length: 8 },
  (_, k) => k === 0 ? 1 : Math.SQRT2 * Math.cos(k * Math.PI / 16),
);

/** A quantiser scaled to `quality` (IJG): natural-order steps and the DCT's reciprocal table. */
interface Quantiser {
  readonly steps: Uint8Array;
  /**
   * 1 / (step · 8 · scale(u) · scale(v)) in zig-zag order: one multiply turns an AAN output
   * into a level.
   */
  readonly zigzagReciprocals: Float64Array;
}

function quantiser(base: readonly number[], quality: number): Quantiser {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - 2 * quality;
  const steps = Uint8Array.from(
    base,
    (q) => Math.min(255, Math.max(1, Math.floor((q * scale + 50) / 100))),
  );
  const zigzagReciprocals = Float64Array.from(
    ZIGZAG,
    (i) => 1 / (steps[i] * 8 * AAN_SCALE[i >> 3] * AAN_SCALE[i & 7]),
  );
  return { steps, zigzagReciprocals };
}

/** Entropy-coded bytes: bits gathered in a 32-bit accumulator, 0xFF stuffed with 0x00. */
class BitWriter {
  bytes: Uint8Array;
  at = 0;
  private accumulator = 0;
  private bitCount = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `more` bytes (a coded block takes at most 2 · 64 · 27 / 8 = 432). */
  reserve(more: number): void {
    if (this.at + more <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + more));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
  }

  writeBytes(values: readonly number[]): void {
    this.reserve(values.length);
    for (const v of values) this.bytes[this.at++] = v;
  }

  /** Appends the low `count` (≤ 16) bits of `value`; at most 7 bits wait, so 23 fit. */
  writeBits(value: number, count: number): void {
    this.accumulator = (this.accumulator << count) | (value & ((1 << count) - 1));
    this.bitCount += count;
    while (this.bitCount >= 8) {
      this.bitCount -= 8;
      const byte = (this.accumulator >>> this.bitCount) & 0xff;
      this.bytes[this.at++] = byte;
      if (byte === 0xff) this.bytes[this.at++] = 0;
    }
  }

  /** Pads the last byte with 1 bits (T.81 F.1.2.3). */
  flush(): void {
    this.reserve(2);
    if (this.bitCount > 0) this.writeBits(0x7f, 8 - this.bitCount);
  }
}

/**
 * One 8-point AAN forward DCT (scaled outputs, see `AAN_SCALE`) of `source[from + k·step]`
 * into `target[to + k·step]`, k = 0..7; reads all eight before writing, so it works in place.
 */
function aanDct8(
  source: Float64Array,
  from: number,
  target: Float64Array,
  to: number,
  step: number,
): void {
  const d0 = source[from], d1 = source[from + step], d2 = source[from + 2 * step];
  const d3 = source[from + 3 * step], d4 = source[from + 4 * step];
  const d5 = source[from + 5 * step], d6 = source[from + 6 * step];
  const d7 = source[from + 7 * step];
  const t0 = d0 + d7, t7 = d0 - d7, t1 = d1 + d6, t6 = d1 - d6;
  const t2 = d2 + d5, t5 = d2 - d5, t3 = d3 + d4, t4 = d3 - d4;
  // Even part.
  const e10 = t0 + t3, e13 = t0 - t3, e11 = t1 + t2, e12 = t1 - t2;
  target[to] = e10 + e11;
  target[to + 4 * step] = e10 - e11;
  const z1 = (e12 + e13) * 0.7071067811865476;
  target[to + 2 * step] = e13 + z1;
  target[to + 6 * step] = e13 - z1;
  // Odd part.
  const o10 = t4 + t5, o11 = t5 + t6, o12 = t6 + t7;
  const z5 = (o10 - o12) * 0.3826834323650898;
  const z2 = 0.541196100146197 * o10 + z5;
  const z4 = 1.3065629648763766 * o12 + z5;
  const z3 = o11 * 0.7071067811865476;
  const z11 = t7 + z3, z13 = t7 - z3;
  target[to + 5 * step] = z13 + z2;
  target[to + 3 * step] = z13 - z2;
  target[to + step] = z11 + z4;
  target[to + 7 * step] = z11 - z4;
}

/** Bits needed for |v| (the JPEG magnitude category), v an integer below 2^15. */
function magnitudeBits(v: number): number {
  return 32 - Math.clz32(v < 0 ? -v : v);
}

/** What codes one component's blocks: its quantiser and DC and AC Huffman codes. */
interface ComponentTables {
  readonly quant: Quantiser;
  readonly dc: HuffmanCodes;
  readonly ac: HuffmanCodes;
}

/** Scratch of the block being coded (between the DCT's row and column passes) and its levels. */
const block = new Float64Array(64);
const levels = new Int32Array(64);

/**
 * Transforms, quantises and Huffman-codes the 8 x 8 block whose top-left sample is
 * `plane[at]` (rows `stride` apart); returns its quantised DC level.
 */
function encodeBlock(
  writer: BitWriter,
  plane: Float64Array,
  at: number,
  stride: number,
  tables: ComponentTables,
  previousDc: number,
): number {
  const { quant, dc, ac } = tables;
  // Rows straight from the plane (no copy of the block first), then columns in place.
  for (let row = 0; row < 8; row++) aanDct8(plane, at + row * stride, block, row * 8, 1);
  for (let column = 0; column < 8; column++) aanDct8(block, column, block, column, 8);
  const reciprocals = quant.zigzagReciprocals;
  for (let k = 0; k < 64; k++) {
    const v = block[ZIGZAG[k]] * reciprocals[k];
    // Rounds half away from zero, as libjpeg does.
    levels[k] = v < 0 ? -((0.5 - v) | 0) : (v + 0.5) | 0;
  }
  writer.reserve(432);
  const diff = levels[0] - previousDc;
  const dcSize = magnitudeBits(diff);
  writer.writeBits(dc.code[dcSize], dc.length[dcSize]);
  // Negative values are sent as v − 1 in `size` bits (T.81 F.1.2.1).
  if (dcSize > 0) writer.writeBits(diff < 0 ? diff - 1 : diff, dcSize);
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = levels[k];
    if (v === 0) {
      run++;
      continue;
    }
    for (; run > 15; run -= 16) writer.writeBits(ac.code[0xf0], ac.length[0xf0]);
    const size = magnitudeBits(v);
    const symbol = (run << 4) | size;
    writer.writeBits(ac.code[symbol], ac.length[symbol]);
    writer.writeBits(v < 0 ? v - 1 : v, size);
    run = 0;
  }
  if (run > 0) writer.writeBits(ac.code[0], ac.length[0]);
  return levels[0];
}

/** Luma blocks per MCU side: 2 for 4:2:0. */
const LUMA_PER_CHROMA = 2;
/** MCU side in pixels. */
const MCU_PX = 8 * LUMA_PER_CHROMA;

/**
 * Level-shifted Y, Cb and Cr planes padded to whole MCUs by edge replication (JFIF's BT.601
 * full-range conversion); each chroma sample from the mean RGB of its 2 x 2 pixels.
 */
function yCbCrPlanes(image: RgbaImage, paddedWidth: number, paddedHeight: number) {
  const { widthPx, heightPx, data } = image;
  const luma = new Float64Array(paddedWidth * paddedHeight);
  for (let y = 0, at = 0; y < paddedHeight; y++, at += paddedWidth) {
    if (y >= heightPx) {
      luma.copyWithin(at, at - paddedWidth, at);
      continue;
    }
    for (let x = 0, p = y * widthPx * 4; x < widthPx; x++, p += 4) {
      luma[at + x] = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2] - 128;
    }
    luma.fill(luma[at + widthPx - 1], at + widthPx, at + paddedWidth);
  }
  const n = LUMA_PER_CHROMA, weight = 1 / (n * n);
  const chromaWidth = paddedWidth / n, chromaHeight = paddedHeight / n;
  const cb = new Float64Array(chromaWidth * chromaHeight), cr = new Float64Array(cb.length);
  for (let cy = 0, c = 0; cy < chromaHeight; cy++) {
    for (let cx = 0; cx < chromaWidth; cx++, c++) {
      let r = 0, g = 0, b = 0;
      for (let dy = 0; dy < n; dy++) {
        const row = Math.min(cy * n + dy, heightPx - 1) * widthPx;
        for (let dx = 0; dx < n; dx++) {
          const p = (row + Math.min(cx * n + dx, widthPx - 1)) * 4;
          r += data[p];
          g += data[p + 1];
          b += data[p + 2];
        }
      }
      // Both centred on 0 already.
      cb[c] = (-0.168736 * r - 0.331264 * g + 0.5 * b) * weight;
      cr[c] = (0.5 * r - 0.418688 * g - 0.081312 * b) * weight;
    }
  }
  return { luma, cb, cr, chromaWidth };
}

/**
 * Baseline JFIF bytes of an RGBA image (alpha ignored) at `quality` 1–100, chroma 4:2:0.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jpeg } from "../deps.ts";
 * import { encodeRgbaJpeg } from "./jpeg_file.ts";
 * const grey = { widthPx: 3, heightPx: 2, data: new Uint8Array(24).fill(200) };
 * const bytes = encodeRgbaJpeg(grey, 90);
 * assert(bytes[0] === 0xff && bytes[1] === 0xd8); // start of image
 * const decoded = jpeg.decode(bytes, { useTArray: true });
 * assert(decoded.width === 3 && Math.abs(decoded.data[0] - 200) <= 1);
 * ```
 */
export function encodeRgbaJpeg(image: RgbaImage, quality: number): Uint8Array {
  const { widthPx, heightPx, data } = image;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new InputError(`JPEG quality ${quality}: quality must be an integer from 1 to 100`);
  }
  for (const [name, size] of [["widthPx", widthPx], ["heightPx", heightPx]] as const) {
    if (!Number.isInteger(size) || size < 1 || size > 0xffff) {
      throw new InputError(`JPEG ${name} ${size}: must be an integer from 1 to 65535`);
    }
  }
  if (data.length !== widthPx * heightPx * 4) {
    throw new InputError(
      `JPEG image data: ${data.length} bytes for ${widthPx} x ${heightPx} px; ` +
        `RGBA needs widthPx * heightPx * 4 = ${widthPx * heightPx * 4}`,
    );
  }
  const quant = quantiser(LUMA_QUANT, quality);
  const paddedWidth = Math.ceil(widthPx / MCU_PX) * MCU_PX;
  const paddedHeight = Math.ceil(heightPx / MCU_PX) * MCU_PX;
  const { luma, cb, cr, chromaWidth } = yCbCrPlanes(image, paddedWidth, paddedHeight);

  // A quarter byte per pixel covers a report page at quality 95; the buffer grows if not.
  const writer = new BitWriter(1024 + (widthPx * heightPx >> 2));
  writer.writeBytes(headers(widthPx, heightPx, quant.steps));
  const lumaTables = { quant, dc: LUMA_DC_CODES, ac: LUMA_AC_CODES };
  const chromaTables = { quant, dc: CHROMA_DC_CODES, ac: CHROMA_AC_CODES };
  let dcY = 0, dcCb = 0, dcCr = 0;
  for (let my = 0; my < paddedHeight; my += MCU_PX) {
    for (let mx = 0; mx < paddedWidth; mx += MCU_PX) {
      for (let by = my; by < my + MCU_PX; by += 8) {
        for (let bx = mx; bx < mx + MCU_PX; bx += 8) {
          dcY = encodeBlock(writer, luma, by * paddedWidth + bx, paddedWidth, lumaTables, dcY);
        }
      }
      const at = (my / LUMA_PER_CHROMA) * chromaWidth + mx / LUMA_PER_CHROMA;
      dcCb = encodeBlock(writer, cb, at, chromaWidth, chromaTables, dcCb);
      dcCr = encodeBlock(writer, cr, at, chromaWidth, chromaTables, dcCr);
    }
  }
  writer.flush();
  writer.writeBytes([0xff, 0xd9]); // end of image
  return writer.bytes.slice(0, writer.at);
}

/** SOI, JFIF APP0, DQT, SOF0, DHT and SOS: everything before the entropy-coded data. */
function headers(
  widthPx: number,
  heightPx: number,
  steps: Uint8Array,
): number[] {
  const segment = (marker: number, body: readonly number[]) => [
    0xff,
    marker,
    (body.length + 2) >> 8,
    (body.length + 2) & 0xff,
    ...body,
  ];
  const huffman = (classAndId: number, spec: HuffmanSpec) => [
    classAndId,
    ...spec.counts,
    ...spec.symbols,
  ];
  const sampling = (LUMA_PER_CHROMA << 4) | LUMA_PER_CHROMA;
  return [
    0xff,
    0xd8,
    // "JFIF\0", version 1.01, no density units, 1:1, no thumbnail.
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    // One 8-bit table, id 0, in zig-zag order.
    ...segment(0xdb, [0x00, ...Array.from(ZIGZAG, (i) => steps[i])]),
    // 8-bit samples; component id, sampling (H << 4 | V), quantiser table.
    ...segment(0xc0, [
      8,
      heightPx >> 8,
      heightPx & 0xff,
      widthPx >> 8,
      widthPx & 0xff,
      3,
      ...[1, sampling, 0, 2, 0x11, 0, 3, 0x11, 0],
    ]),
    ...segment(0xc4, [
      ...huffman(0x00, LUMA_DC),
      ...huffman(0x10, LUMA_AC),
      ...huffman(0x01, CHROMA_DC),
      ...huffman(0x11, CHROMA_AC),
    ]),
    // Components with (DC << 4 | AC) tables, then spectral range 0–63 and no approximation.
    ...segment(0xda, [3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]),
  ];
}
