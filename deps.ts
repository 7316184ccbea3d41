/**
 * Every third-party import of the project, as full `npm:name@version` specifiers.
 *
 * Why one file: `deno run <URL>/mod.ts` ignores the server's `deno.json`, so bare
 * specifiers would fail there; modules import these re-exports relatively instead.
 * Versions are pinned exactly; `deno.lock` records their integrity hashes.
 *
 * @module
 */
export { z } from "npm:zod@4.6.7";
export { parse as parseCsv } from "npm:csv-parse@7.0.3/sync";
export { stringify as stringifyCsv } from "npm:csv-stringify@6.9.0/sync";
export * as jpeg from "npm:jpeg-js@0.4.4";
export * as png from "npm:fast-png@8.0.0";
export * as tf from "npm:@tensorflow/tfjs@4.22.0";
export * as tfWasm from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
export * as tfWebgpu from "npm:@tensorflow/tfjs-backend-webgpu@4.22.0";
export { UMAP } from "npm:umap-js@1.4.0";
export { Unzip, UnzipInflate, zipSync } from "npm:fflate@0.8.3";
export * as vega from "npm:vega@6.4.0";
export * as vegaLite from "npm:vega-lite@6.5.0";
export { default as vegaEmbed } from "npm:vega-embed@7.3.0";
export { initWasm as initResvgWasm, Resvg } from "npm:@resvg/resvg-wasm@2.6.2";
// Installs the font package (it has no JavaScript) so its file can be resolved and read below;
// a side-effect import, which this rule flags where the export lines above pass.
// deno-lint-ignore no-import-prefix
import "npm:@fontsource/dejavu-sans@5.3.0/package.json" with { type: "json" };

/** `file:` URL of a file inside a pinned npm package, beside the module `main` resolves to. */
function besideMain(main: string, file: string): string {
  return new URL(file, import.meta.resolve(main)).href;
}

/**
 * Files inside the pinned npm packages, as `file:` URLs in `node_modules` (read with
 * `--allow-read=.`): the resvg wasm, the DejaVu Sans font charts are drawn with, and the browser
 * bundles of vega, vega-lite and vega-embed the dashboard inlines. Their packages' export maps
 * hide the bundles, so they are found beside each package's main module.
 */
export const NPM_FILES = {
  resvgWasm: import.meta.resolve("npm:@resvg/resvg-wasm@2.6.2/index_bg.wasm"),
  dejavuSansWoff2: import.meta.resolve(
    "npm:@fontsource/dejavu-sans@5.3.0/files/dejavu-sans-latin-400-normal.woff2",
  ),
  vegaJs: besideMain("npm:vega@6.4.0", "vega.min.js"),
  vegaLiteJs: besideMain("npm:vega-lite@6.5.0", "vega-lite.min.js"),
  vegaEmbedJs: besideMain("npm:vega-embed@7.3.0", "vega-embed.min.js"),
} as const;
