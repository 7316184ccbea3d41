/**
 * A static HTTP server over the checkout on 127.0.0.1, for tests that run `mod.ts` from a URL
 * as users do (`deno run <permissions> http://…/mod.ts <stage>`), with no clone.
 *
 * @module
 */
import { extname, join, normalize } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".js": "application/javascript",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/**
 * Serves files below `root` on a random port of 127.0.0.1 (`..` in a path gets 404); the
 * returned object's `url` ends with `/`, and disposing it stops the server.
 *
 * @example
 * ```ts ignore
 * await using server = serveFolder(".");
 * const res = await fetch(`${server.url}mod.ts`);
 * ```
 */
export function serveFolder(root: string): { url: string } & AsyncDisposable {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = normalize(decodeURIComponent(new URL(req.url).pathname));
    if (path.split("/").includes("..")) return new Response("not found", { status: 404 });
    try {
      const body = await Deno.readFile(join(root, path));
      const type = CONTENT_TYPES[extname(path)] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
