// Not part of `npm test`: measures the window under a 50,000 events/s feed (the in-app demo
// server's /firehose). Run with `bash scripts/test-app.sh perf`; figures go to stdout.
import { execFileSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { Session, sleep, waitFor } from './wd.mjs';

const RATE = Number(process.env.PERF_RATE ?? 50000);
const CAP = Number(process.env.PERF_CAP ?? 200000);

export default async function run({ driver, out }) {
  const s = await Session.start(driver);
  try {
    const demo = await waitFor('demo url', () => s.text('[data-feed=demo] .url'));
    const url = demo.replace(/\/events.*$/, `/firehose?rate=${RATE}`);
    await s.click('[data-testid=add-feed]');
    await s.type('[data-testid=f-url]', url);
    await s.type('[data-testid=f-name]', 'Firehose');
    await s.type('[data-testid=f-cap]', String(CAP));
    await s.click('[data-testid=f-save]');
    await waitFor('firehose events', async () => Number(await s.exec(() => document.querySelector('[data-feed=firehose]')?.dataset.events ?? 0)) > 1000);
    // Fill the history to its cap before measuring.
    await waitFor('history full', async () => Number(await s.exec(() => document.querySelector('[data-feed=firehose]').dataset.events)) >= CAP, 120000, 500);
    const events = () => s.exec(() => Number(document.querySelector('[data-feed=firehose]').dataset.events));
    const e0 = await events();
    const t0 = Date.now();
    // Main-thread lag while following at full rate: the longest gap between 10 ms timers.
    const lag = await s.cmd('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        let last = performance.now(), max = 0, n = 0, sum = 0;
        const id = setInterval(() => { const t = performance.now(); const d = t - last - 10; max = Math.max(max, d); sum += d; n++; last = t; }, 10);
        setTimeout(() => { clearInterval(id); done({ maxLagMs: Math.round(max), meanLagMs: +(sum / n).toFixed(1) }); }, 5000);`,
      args: [],
    });
    const e1 = await events();
    const ipc = await s.exec(() => ({ ...document.querySelector('[data-testid=throughput]').dataset }));
    const rate = Math.round(((e1 - e0) * 1000) / (Date.now() - t0));
    // Search: from typing to the table showing only matches (120 ms debounce included).
    const search = await s.cmd('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        const el = document.querySelector('[data-testid=search]');
        const t0 = performance.now();
        el.value = '"symbol"'; el.dispatchEvent(new Event('input', { bubbles: true }));
        const check = () => {
          const rows = [...document.querySelectorAll('[data-testid=table] .tr')];
          if (rows.length && rows.every((r) => r.dataset.type === 'price')) done(Math.round(performance.now() - t0));
          else if (performance.now() - t0 > 10000) done(-1);
          else requestAnimationFrame(check);
        };
        check();`,
      args: [],
    });
    const total = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    // Scroll to the middle of the matches: time until the rows for that position are shown.
    const scroll = await s.cmd('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        const sc = document.querySelector('[data-testid=table] .scroller');
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
      args: [],
    });
    // Export everything retained (the save dialog is answered by FEEDSCOPE_TEST_SAVE_PATH), and
    // watch the main thread while the backend writes.
    await s.exec(() => {
      const el = document.querySelector('[data-testid=search]');
      el.value = '';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await sleep(500);
    const exp = await s.cmd('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        let last = performance.now(), max = 0;
        const id = setInterval(() => { const t = performance.now(); max = Math.max(max, t - last - 10); last = t; }, 10);
        const t0 = performance.now();
        document.querySelector('[data-testid=export]').click();
        const check = () => {
          const t = document.querySelector('[data-testid=status]').textContent;
          if (t.startsWith('Exported')) { clearInterval(id); done({ exportMs: Math.round(performance.now() - t0), exportMaxLagMs: Math.round(max), status: t }); }
          else if (performance.now() - t0 > 60000) { clearInterval(id); done({ exportMs: -1, status: t }); }
          else setTimeout(check, 20);
        };
        check();`,
      args: [],
    });
    const exportBytes = (await stat(`${out}/export.ndjson`)).size;
    let rssMb = null;
    try {
      rssMb = Math.round(Number(execFileSync('ps', ['-C', 'feedscope-app', '-o', 'rss=']).toString().trim().split('\n')[0]) / 1024);
    } catch {}
    await s.screenshot(`${out}/05-firehose.png`);
    console.log(JSON.stringify({ asked: RATE, ingestedPerSec: rate, windowRecordsPerSec: Number(ipc.records), batchesPerSec: Number(ipc.batches), ...lag, searchMs: search, matches: total, scrollMs: scroll, exportMs: exp.exportMs, exportMaxLagMs: exp.exportMaxLagMs, exportBytes, exportStatus: exp.status, rssMb }));
  } finally {
    await s.end();
  }
}
