/**
 * Image pipeline speed: decode + resize to 224 px grey of a full-size 2213 x 1572 scan and of
 * a 640 px image, the resize alone, and a cached load.
 *
 * Run: `deno task bench` (or `deno bench --allow-read=.,../shared --allow-write=outputs
 * bench/decode_bench.ts`). Needs `../shared/data`; every case is skipped without it.
 * Images/s = 1000 / the reported mean ms.
 *
 * @module
 */
import { decodeImage } from "../data/decode_image.ts";
import { rgbaToGray } from "../data/grayscale.ts";
import { decodeResizedGray, loadResizedGray } from "../data/image_cache.ts";
import { resizeGray, resizeRgba } from "../data/resize.ts";

const FULLRES = "../shared/data/ecg-images-fullres/MI/MI(1).jpg";
const SMALL = "../shared/data/ecg-images/test/MI/MI(1).jpg";
const CACHE_DIR = "outputs/tmp/decode_bench_cache";
const SIZE_PX = 224;

async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

const fullres = await readIfPresent(FULLRES);
const small = await readIfPresent(SMALL);
if (fullres === undefined || small === undefined) {
  console.warn(`decode_bench: skipped, ${FULLRES} or ${SMALL} absent`);
}
const fullresRgba = fullres && decodeImage(fullres, FULLRES);

Deno.bench({
  name: "decode + resize to 224 grey, 2213 x 1572 JPEG",
  group: "pipeline",
  ignore: fullres === undefined,
  fn: () => {
    decodeResizedGray(fullres!, FULLRES, SIZE_PX);
  },
});

Deno.bench({
  name: "decode + resize to 224 grey, 640 x 455 JPEG",
  group: "pipeline",
  ignore: small === undefined,
  fn: () => {
    decodeResizedGray(small!, SMALL, SIZE_PX);
  },
});

Deno.bench({
  name: "cached load (read + SHA-256 + entry), 2213 x 1572 JPEG",
  group: "pipeline",
  ignore: fullres === undefined,
  async fn(b) {
    await loadResizedGray(FULLRES, SIZE_PX, CACHE_DIR); // warm
    b.start();
    await loadResizedGray(FULLRES, SIZE_PX, CACHE_DIR);
    b.end();
  },
});

Deno.bench({
  name: "resize only, RGBA 2213 x 1572 → 224 (then grey)",
  group: "resize",
  ignore: fullresRgba === undefined,
  fn: () => {
    rgbaToGray(resizeRgba(fullresRgba!, SIZE_PX, SIZE_PX));
  },
});

const fullresGray = fullresRgba && rgbaToGray(fullresRgba);
Deno.bench({
  name: "resize only, grey 2213 x 1572 → 224",
  group: "resize",
  ignore: fullresGray === undefined,
  fn: () => {
    resizeGray(fullresGray!, SIZE_PX, SIZE_PX);
  },
});
