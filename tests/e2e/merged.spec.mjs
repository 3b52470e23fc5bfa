// Not part of `npm test`: measures the window's merged timeline (All feeds) with many feeds live.
// FEEDS feeds (100 by default) of the e2e fixture's /stream (an event every 40 ms each, so
// 2,500 events/s in all) are opened from the command line and run until they hold FILL events
// (100,000 by default); then: the time from a click on All
// feeds to its rows, the main thread's lag while it follows, a query over every feed, and a
// scroll to the middle. Run with `bash scripts/test-app.sh merged`; figures go to stdout.
import { execFileSync } from 'node:child_process';
import { Session, sseServer, waitFor } from './wd.mjs';

const FEEDS = Number(process.env.MERGED_FEEDS ?? 100);
/** Records held in all before measuring (at 25 events/s a feed). */
const FILL = Number(process.env.MERGED_FILL ?? 100000);

/** Resolves with what `script` passes to `done` (WebDriver's async script). */
const measure = (s, script) => s.cmd('POST', '/execute/async', { script: `const done = arguments[arguments.length - 1];\n${script}`, args: [] });

export default async function run({ driver, out }) {
  const server = await sseServer();
  const urls = Array.from({ length: FEEDS }, (_, k) => `${server.url}?feed=${k + 1}`);
  const s = await Session.start(driver, urls);
  try {
    const live = () => s.exec(() => [...document.querySelectorAll('[data-feed]')].filter((li) => Number(li.dataset.events) > 0).length);
    await waitFor(`${FEEDS} feeds with events`, async () => (await live()) >= FEEDS, 120000, 500);
    const held = () => s.exec(() => [...document.querySelectorAll('[data-feed]')].reduce((n, li) => n + Number(li.dataset.events), 0));
    await waitFor(`${FILL} events held`, async () => (await held()) >= FILL, 600000, 1000);
    const t0 = Date.now();
    await s.click('[data-testid=all-feeds]');
    await waitFor('merged rows', async () => (await s.exec(() => document.querySelectorAll('[data-testid=table] .tr[data-feed]').length)) > 10);
    const openMs = Date.now() - t0;
    // Main-thread lag while following every feed: the longest gap between 10 ms timers.
    const lag = await measure(
      s,
      `let last = performance.now(), max = 0, n = 0, sum = 0;
       const id = setInterval(() => { const t = performance.now(); const d = t - last - 10; max = Math.max(max, d); sum += d; n++; last = t; }, 10);
       setTimeout(() => { clearInterval(id); done({ maxLagMs: Math.round(max), meanLagMs: +(sum / n).toFixed(1) }); }, 5000);`,
    );
    const ipc = await s.exec(() => ({ ...document.querySelector('[data-testid=throughput]').dataset }));
    const retained = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    // A query over every feed: from typing to a table of only matching rows (debounce included).
    await s.click('[data-testid=query-mode]');
    const queryMs = await measure(
      s,
      `const el = document.querySelector('[data-testid=search]');
       const t0 = performance.now();
       el.value = 'type == "beta" && data.n > 10'; el.dispatchEvent(new Event('input', { bubbles: true }));
       const check = () => {
         const rows = [...document.querySelectorAll('[data-testid=table] .tr')];
         if (rows.length && rows.every((r) => r.dataset.type === 'beta')) done(Math.round(performance.now() - t0));
         else if (performance.now() - t0 > 20000) done(-1);
         else requestAnimationFrame(check);
       };
       check();`,
    );
    const matches = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    // Scroll to the middle of the matches: time until other rows are shown.
    const scrollMs = await measure(
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
    let rssMb = null;
    try {
      rssMb = Math.round(Number(execFileSync('ps', ['-C', 'feedscope-app', '-o', 'rss=']).toString().trim().split('\n')[0]) / 1024);
    } catch {}
    await s.screenshot(`${out}/17-merged-${FEEDS}.png`);
    console.log(JSON.stringify({ feeds: FEEDS, openMs, ...lag, windowRecordsPerSec: Number(ipc.records), batchesPerSec: Number(ipc.batches), retained, queryMs, matches, scrollMs, rssMb }));
  } finally {
    await s.end();
    server.close();
  }
}
