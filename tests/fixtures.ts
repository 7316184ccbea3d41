/**
 * Tiny images and folder layouts built by tests (nothing binary is checked in).
 *
 * @module
 */
import { png } from "../deps.ts";

/**
 * A small valid gray PNG with a value gradient seeded by `shade`.
 *
 * @example
 * ```ts ignore
 * await Deno.writeFile("a.png", tinyPng(3));
 * ```
 */
export function tinyPng(shade = 0, widthPx = 8, heightPx = 6): Uint8Array {
  const data = new Uint8Array(widthPx * heightPx);
  for (let i = 0; i < data.length; i++) data[i] = (shade * 37 + i * 5) % 256;
  return png.encode({ width: widthPx, height: heightPx, data, channels: 1, depth: 8 });
}

/**
 * Writes `<root>/<split>/<Class>/<Class>(i).png` for every split and class.
 *
 * @example
 * ```ts ignore
 * await writeImageFolder("x", { train: 3, val: 1, test: 1 }, ["A", "B"]);
 * ```
 */
export async function writeImageFolder(
  root: string,
  perSplit: Record<string, number>,
  classes: readonly string[],
): Promise<void> {
  for (const [split, n] of Object.entries(perSplit)) {
    for (const c of classes) {
      await Deno.mkdir(`${root}/${split}/${c}`, { recursive: true });
      for (let i = 1; i <= n; i++) {
        await Deno.writeFile(`${root}/${split}/${c}/${c}(${i}).png`, tinyPng(i));
      }
    }
  }
}

/**
 * Writes a raw `<root>/<Class>/<Class>(i).png` folder, as the data set ships before a split.
 *
 * @example
 * ```ts ignore
 * await writeRawFolder("raw", { A: 10, B: 10 });
 * ```
 */
export async function writeRawFolder(
  root: string,
  perClass: Record<string, number>,
): Promise<void> {
  for (const [c, n] of Object.entries(perClass)) {
    await Deno.mkdir(`${root}/${c}`, { recursive: true });
    for (let i = 1; i <= n; i++) await Deno.writeFile(`${root}/${c}/${c}(${i}).png`, tinyPng(i));
  }
}
