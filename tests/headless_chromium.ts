/**
 * Driving Debian's headless Chromium over the Chrome DevTools protocol, for the dashboard test.
 * Chromium listens on a random port of 127.0.0.1 only; the test needs `--allow-run=chromium` and
 * `--allow-net=127.0.0.1` for that socket. Pages get no network: a dead proxy catches anything
 * but loopback, and the page target is switched offline.
 *
 * @module
 */

/** The Chromium executable (Debian's package name and binary). */
export const CHROMIUM = "chromium";

/**
 * Why Chromium cannot be used here, or `undefined` when it can.
 *
 * @example
 * ```ts ignore
 * const why = await chromiumUnavailable();
 * ```
 */
export async function chromiumUnavailable(): Promise<string | undefined> {
  try {
    const { success } = await new Deno.Command(CHROMIUM, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : `${CHROMIUM} --version failed`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return `${CHROMIUM} is not installed (apt-get install -y chromium; .ci/run does this)`;
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return `running ${CHROMIUM} is not permitted: run the test with --allow-run=chromium ` +
        "--allow-net=127.0.0.1 (as deno task test does)";
    }
    throw e;
  }
}

/** True when `promise` settles (either way) within `timeoutMs`; clears its timer either way. */
async function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) =>
    timer = setTimeout(() => resolve(false), timeoutMs)
  );
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A protocol event. */
export interface CdpEvent {
  method: string;
  // deno-lint-ignore no-explicit-any
  params: any;
  sessionId?: string;
}

interface Pending {
  // deno-lint-ignore no-explicit-any
  resolve: (result: any) => void;
  reject: (error: Error) => void;
}

async function devtoolsUrl(stderr: ReadableStream<Uint8Array>): Promise<{
  url: string;
  drained: Promise<void>;
}> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`chromium exited before listening:\n${text}`);
    text += value;
    const match = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (match) {
      // Keep reading so Chromium never blocks on a full pipe.
      const drained = (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })();
      return { url: match[1], drained };
    }
  }
}

/** A headless Chromium with one page, driven over the DevTools protocol. */
export class HeadlessChromium implements AsyncDisposable {
  /** Every event of the page's session, in arrival order. */
  readonly events: CdpEvent[] = [];
  #process: Deno.ChildProcess;
  #socket: WebSocket;
  #drained: Promise<void>;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #sessionId = "";
  #listeners: ((e: CdpEvent) => void)[] = [];

  private constructor(process: Deno.ChildProcess, socket: WebSocket, drained: Promise<void>) {
    this.#process = process;
    this.#socket = socket;
    this.#drained = drained;
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data as string);
      if (typeof data.id === "number") {
        const pending = this.#pending.get(data.id);
        this.#pending.delete(data.id);
        if (data.error) pending?.reject(new Error(`${data.error.message} (${data.error.code})`));
        else pending?.resolve(data.result);
        return;
      }
      this.events.push(data);
      for (const listener of this.#listeners) listener(data);
    };
  }

  /**
   * Starts Chromium (profile in `userDataDir`) and opens a blank page with the Runtime, Log,
   * Page and Network domains on, and the page offline.
   */
  static async launch(userDataDir: string): Promise<HeadlessChromium> {
    const process = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--remote-debugging-port=0",
        `--user-data-dir=${userDataDir}`,
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let socket: WebSocket | undefined;
    try {
      const { url, drained } = await devtoolsUrl(process.stderr);
      socket = new WebSocket(url);
      await new Promise((resolve, reject) => {
        socket!.onopen = resolve;
        socket!.onerror = () => reject(new Error(`cannot connect to ${url}`));
      });
      const browser = new HeadlessChromium(process, socket, drained);
      const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await browser.send("Target.attachToTarget", {
        targetId,
        flatten: true,
      });
      browser.#sessionId = sessionId;
      for (const domain of ["Runtime", "Log", "Page", "Network"]) {
        await browser.page(`${domain}.enable`);
      }
      await browser.page("Network.emulateNetworkConditions", {
        offline: true,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      return browser;
    } catch (e) {
      socket?.close();
      process.kill();
      await process.status;
      throw e;
    }
  }

  /** Sends a browser-level command. */
  // deno-lint-ignore no-explicit-any
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(
        JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }),
      );
    });
  }

  /** Sends a command to the page. */
  // deno-lint-ignore no-explicit-any
  page(method: string, params: Record<string, unknown> = {}): Promise<any> {
    return this.send(method, params, this.#sessionId);
  }

  /** The next event named `method` (after now), or an error after `timeoutMs`. */
  nextEvent(method: string, timeoutMs = 30_000): Promise<CdpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (e: CdpEvent) => {
        if (e.method !== method) return;
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        resolve(e);
      };
      this.#listeners.push(listener);
    });
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = await this.page("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    if (exceptionDetails) {
      throw new Error(
        `page threw: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`,
      );
    }
    return result.value as T;
  }

  /** A real mouse click (press and release) at page coordinates. */
  async click(xPx: number, yPx: number): Promise<void> {
    for (const type of ["mouseMoved", "mousePressed", "mouseReleased"]) {
      await this.page("Input.dispatchMouseEvent", {
        type,
        x: xPx,
        y: yPx,
        button: type === "mouseMoved" ? "none" : "left",
        clickCount: 1,
      });
    }
  }

  /** Moves the mouse to page coordinates (hover). */
  async hover(xPx: number, yPx: number): Promise<void> {
    await this.page("Input.dispatchMouseEvent", { type: "mouseMoved", x: xPx, y: yPx });
  }

  /** Closes the browser and waits for it to exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await settlesWithin(this.send("Browser.close"), 5_000);
    if (!(await settlesWithin(this.#process.status, 5_000))) this.#process.kill();
    await this.#process.status;
    if (this.#socket.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((resolve) => this.#socket.onclose = resolve);
      this.#socket.close();
      await closed;
    }
    await this.#drained;
  }
}
