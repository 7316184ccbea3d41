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
