// A small W3C WebDriver client over fetch, plus the fixtures the specs share: tauri-driver for
// the real app binary, and a loopback SSE server (the `feedscope-fixture` binary of
// crates/feedscope-testkit) that tells which Last-Event-ID each reconnection sent.
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import assert from 'node:assert/strict';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const APP = process.env.FEEDSCOPE_APP ?? `${ROOT}target/debug/feedscope-app`;
// scripts/test-app.sh builds it: cargo build -p feedscope-testkit --bin feedscope-fixture
export const FIXTURE = process.env.FEEDSCOPE_FIXTURE ?? `${ROOT}target/debug/feedscope-fixture`;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; fails with `what` after `timeout` ms. */
export async function waitFor(what, fn, timeout = 15000, every = 100) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** Starts tauri-driver with the given extra environment (inherited by the app). */
export async function startDriver(env) {
  const port = await freePort();
  const nativePort = await freePort();
  const bin = process.env.TAURI_DRIVER ?? `${process.env.CARGO_HOME ?? `${process.env.HOME}/.cargo`}/bin/tauri-driver`;
  const proc = spawn(bin, ['--port', String(port), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('tauri-driver', async () => (await fetch(`${url}/status`)).ok, 10000, 100);
  return { url, proc, log: () => log, stop: () => proc.kill('SIGTERM') };
}

export class Session {
  static async start(driver, args = []) {
    const res = await fetch(`${driver.url}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: { 'tauri:options': { application: APP, args } } } }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`session: ${JSON.stringify(body)}`);
    const s = new Session(driver.url, body.value.sessionId);
    return s;
  }

  constructor(base, id) {
    this.base = `${base}/session/${id}`;
  }

  async cmd(method, path, body) {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json)}`);
    return json.value;
  }

  /** Runs `fn(...args)` in the window and returns its result. */
  exec(fn, ...args) {
    return this.cmd('POST', '/execute/sync', { script: `return (${fn}).apply(null, arguments)`, args });
  }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return Object.values(v)[0];
  }

  /** Clicks the element; live rows re-render under the pointer, so a stale element is found again. */
  async click(css) {
    for (let attempt = 0; ; attempt++) {
      const el = await waitFor(`element ${css}`, () => this.find(css), 10000);
      try {
        await this.cmd('POST', `/element/${el}/click`, {});
        return;
      } catch (e) {
        // A live table re-renders its rows many times a second: find the element again, a little later.
        if (attempt >= 40 || !/stale element/.test(e.message)) throw e;
        await sleep(25);
      }
    }
  }

  async type(css, text, { clear = true } = {}) {
    const el = await waitFor(`element ${css}`, () => this.find(css), 10000);
    if (clear) await this.cmd('POST', `/element/${el}/clear`, {});
    await this.cmd('POST', `/element/${el}/value`, { text });
  }

  text(css) {
    return this.exec((sel) => document.querySelector(sel)?.textContent ?? null, css);
  }

  /** The table rows on screen. */
  rows() {
    return this.exec(() =>
      [...document.querySelectorAll('[data-testid=table] .tr')].map((r) => ({
        kind: r.dataset.kind,
        type: r.dataset.type ?? null,
        text: r.textContent,
      })),
    );
  }

  badge(feedId) {
    return this.text(`[data-feed="${feedId}"] [data-testid=badge]`);
  }

  async screenshot(path) {
    const { writeFile } = await import('node:fs/promises');
    const png = await this.cmd('GET', '/screenshot');
    await writeFile(path, Buffer.from(png, 'base64'));
  }

  async end() {
    await this.cmd('DELETE', '').catch(() => {});
  }
}

/**
 * A loopback SSE server: `/stream` sends `retry: 300` and events alternating types `alpha` and
 * `beta` with ids 1, 2, 3…, resuming after the Last-Event-ID it receives. `drop()` cuts every
 * connection and refuses new ones until `resume()`. With `?fail=503` the first request gets a 503.
 * `state.requests` lists the `/stream` requests as `{ leid, at }` (Last-Event-ID or null, time).
 *
 * It is the `feedscope-fixture` binary (feedscope_testkit::e2e has the feed): it prints
 * `listening on URL`, then a `request {json}` line per request, and on stdin takes `drop` and
 * `resume`, answering `dropped` and `resumed`. It exits when its stdin closes.
 */
export async function sseServer() {
  const proc = spawn(FIXTURE, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const state = { requests: [], up: true };
  // Waiting commands, answered in order; a fixture that dies fails them instead of hanging.
  const pending = [];
  let listening;
  const failed = new Promise((_, reject) => {
    proc.once('error', (e) =>
      reject(new Error(`cannot start ${FIXTURE}: ${e.message} (cargo build -p feedscope-testkit --bin feedscope-fixture)`)),
    );
    proc.once('exit', (code, signal) => reject(new Error(`feedscope-fixture exited (${signal ?? code})`)));
  });
  failed.catch((e) => pending.splice(0).forEach(({ reject }) => reject(e)));
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    if (line.startsWith('listening on ')) listening?.(line.slice('listening on '.length));
    else if (line.startsWith('request ')) state.requests.push(JSON.parse(line.slice('request '.length)));
    else if (line === 'dropped' || line === 'resumed') pending.shift()?.resolve(line);
  });
  const base = await Promise.race([new Promise((r) => (listening = r)), failed]);
  const command = (cmd) =>
    new Promise((resolve, reject) => {
      pending.push({ resolve, reject });
      proc.stdin.write(`${cmd}\n`);
    });
  return {
    url: `${base}/stream`,
    state,
    async drop() {
      state.up = false;
      await command('drop');
    },
    async resume() {
      state.up = true;
      await command('resume');
    },
    close() {
      proc.stdin.end();
      proc.kill('SIGTERM');
    },
  };
}

/** Runs `script` in the window as a WebDriver async script; it calls `done(value)` to answer. */
export function measure(s, script) {
  return s.cmd('POST', '/execute/async', { script: `const done = arguments[arguments.length - 1];\n${script}`, args: [] });
}

/** The window's main-thread lag over `ms`: the longest and the mean delay of a 10 ms timer. */
export function mainThreadLag(s, ms = 5000) {
  return measure(
    s,
    `let last = performance.now(), max = 0, n = 0, sum = 0;
     const id = setInterval(() => { const t = performance.now(); const d = t - last - 10; max = Math.max(max, d); sum += d; n++; last = t; }, 10);
     setTimeout(() => { clearInterval(id); done({ maxLagMs: Math.round(max), meanLagMs: +(sum / n).toFixed(1) }); }, ${ms});`,
  );
}

/** Types `text` into the search box; resolves with the ms until every row on screen passes
 *  `rowMatches` (a function of a row element, as source text), -1 after `limitMs`. */
export function searchMs(s, text, rowMatches, limitMs = 20000) {
  return measure(
    s,
    `const el = document.querySelector('[data-testid=search]');
     const ok = ${rowMatches};
     const t0 = performance.now();
     el.value = ${JSON.stringify(text)}; el.dispatchEvent(new Event('input', { bubbles: true }));
     const check = () => {
       const rows = [...document.querySelectorAll('[data-testid=table] .tr')];
       if (rows.length && rows.every(ok)) done(Math.round(performance.now() - t0));
       else if (performance.now() - t0 > ${limitMs}) done(-1);
       else requestAnimationFrame(check);
     };
     check();`,
  );
}

/** Scrolls the table to the middle; resolves with the ms until other rows are shown, -1 after 10 s. */
export function scrollToMiddleMs(s) {
  return measure(
    s,
    `const sc = document.querySelector('[data-testid=table] .scroller');
     const before = document.querySelector('[data-testid=table] .tr')?.textContent;
     const t0 = performance.now();
     sc.scrollTop = sc.scrollHeight / 2;
     const check = () => {
       const now = document.querySelector('[data-testid=table] .tr')?.textContent;
       if (now && now !== before) done(Math.round(performance.now() - t0));
       else if (performance.now() - t0 > 10000) done(-1);
       else requestAnimationFrame(check);
     };
     requestAnimationFrame(check);`,
  );
}

/** The app's resident memory in MiB, or null where `ps` cannot tell. */
export function appRssMb() {
  try {
    return Math.round(Number(execFileSync('ps', ['-C', 'feedscope-app', '-o', 'rss=']).toString().trim().split('\n')[0]) / 1024);
  } catch {
    return null;
  }
}

export { assert };
