import { assert, assertEquals } from "./assert.ts";
import { runDeno } from "./subprocess.ts";
import { testDir } from "./test_dirs.ts";

const config = JSON.parse(await Deno.readTextFile("deno.json"));
const tasks: Record<string, { command: string }> = config.tasks;

/** The tasks that start a tfjs backend: those granted the OpenBLAS library (`--allow-ffi`). */
const backendTasks = Object.entries(tasks).filter(([, t]) =>
  t.command.includes("--allow-ffi") && /\bdeno run /.test(t.command)
);

Deno.test("the tasks that start a backend leave WebGPU's OpenGL probe (and its Wayland error) out", async () => {
  assert(backendTasks.length >= 8, backendTasks.map(([name]) => name).join());
  const prefix = /^DENO_WEBGPU_BACKEND=(\S+) XDG_RUNTIME_DIR=(\S+) deno run /;
  for (const [name, { command }] of backendTasks) {
    const match = prefix.exec(command);
    assert(match, `${name}: ${command}`);
    assertEquals(match[1].split(",").sort(), ["dx12", "metal", "vulkan"], name);
    assertEquals(match[2], "/tmp", name);
  }
  // With those settings a WebGPU probe prints nothing: where the OpenGL probe ran, or where
  // Mesa's software Vulkan driver (lavapipe) is installed, a machine without a Wayland session
  // printed "error: XDG_RUNTIME_DIR is invalid or not set" twice at every start.
  await using dir = await testDir();
  await Deno.writeTextFile(`${dir.path}/probe.ts`, "await navigator.gpu?.requestAdapter();\n");
  const [, backends, runtimeDir] = prefix.exec(tasks.demo.command)!;
  const env = { DENO_WEBGPU_BACKEND: backends, XDG_RUNTIME_DIR: runtimeDir };
  const probe = await runDeno(["run", "--no-config", `${dir.path}/probe.ts`], env);
  assertEquals([probe.code, probe.stderr], [0, ""]);
});

Deno.test("a fresh install prints no 'Ignored build scripts' box (core-js's postinstall is denied)", async () => {
  assertEquals(config.allowScripts, { deny: ["npm:core-js"] });
  // A project with this deno.json's npm settings and no node_modules yet, as after a clone.
  await using dir = await testDir();
  const settings = { nodeModulesDir: config.nodeModulesDir, allowScripts: config.allowScripts };
  await Deno.writeTextFile(`${dir.path}/deno.json`, JSON.stringify(settings));
  await Deno.copyFile("deno.lock", `${dir.path}/deno.lock`);
  await Deno.writeTextFile(
    `${dir.path}/main.ts`,
    'import * as tf from "npm:@tensorflow/tfjs@4.22.0";\nconsole.log(typeof tf.tensor);\n',
  );
  const fresh = await runDeno(["run", "--allow-read=.", "main.ts"], {}, dir.path);
  assertEquals(fresh.code, 0, fresh.stderr);
  assertEquals(fresh.stdout.trim(), "function");
  assert(!fresh.stderr.includes("Ignored build scripts"), fresh.stderr);
  assert(fresh.stderr.includes("Initialize"), `node_modules was installed: ${fresh.stderr}`);
});
