/**
 * Writing `<out>/dashboard/index.html` from a chart plan.
 *
 * @module
 */
import { join } from "node:path";
import { NPM_FILES } from "../../deps.ts";
import { writeFileAtomic } from "../../core/atomic_write.ts";
import type { ChartPlan } from "../draw_charts.ts";
import { dashboardData } from "./dashboard_data.ts";
import { dashboardHtml, type DashboardLibraries } from "./dashboard_html.ts";

/**
 * The vega, vega-lite and vega-embed browser bundles from the pinned npm packages.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readDashboardLibraries } from "./write_dashboard.ts";
 * const libs = await readDashboardLibraries();
 * assert(libs.vegaEmbed.includes("vegaEmbed"));
 * ```
 */
export async function readDashboardLibraries(): Promise<DashboardLibraries> {
  const read = (url: string) => Deno.readTextFile(new URL(url));
  return {
    vega: await read(NPM_FILES.vegaJs),
    vegaLite: await read(NPM_FILES.vegaLiteJs),
    vegaEmbed: await read(NPM_FILES.vegaEmbedJs),
  };
}

/**
 * Writes the dashboard and returns its path.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeDashboard } from "./write_dashboard.ts";
 * const out = await Deno.makeTempDir();
 * const path = await writeDashboard(out, { charts: [], skipped: [], models: [] });
 * assert((await Deno.readTextFile(path)).includes("ecg-xai dashboard"));
 * ```
 */
export async function writeDashboard(out: string, plan: ChartPlan): Promise<string> {
  const path = join(out, "dashboard", "index.html");
  const html = dashboardHtml(await dashboardData(out, plan), await readDashboardLibraries());
  await writeFileAtomic(path, html);
  return path;
}
