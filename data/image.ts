/**
 * In-memory image types shared by decoding, resizing, the synthetic generator and the loader.
 *
 * Pixels are row-major, top-left first; 8-bit unless the type says otherwise.
 *
 * @module
 */

/** An 8-bit RGBA image: `data.length === widthPx * heightPx * 4`. */
export interface RgbaImage {
  readonly widthPx: number;
  readonly heightPx: number;
  readonly data: Uint8Array;
}

/** An 8-bit single-channel image: `data.length === widthPx * heightPx`. */
export interface GrayImage {
  readonly widthPx: number;
  readonly heightPx: number;
  readonly data: Uint8Array;
}

/** A float single-channel image (intermediate results of resampling and augmentation). */
export interface GrayFloatImage {
  readonly widthPx: number;
  readonly heightPx: number;
  readonly data: Float32Array;
}
