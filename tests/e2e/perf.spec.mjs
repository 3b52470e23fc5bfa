// Not part of `npm test`: measures the window under a 50,000 events/s feed (the in-app demo
// server's /firehose). Run with `bash scripts/test-app.sh perf`; figures go to stdout.
import { stat } from 'node:fs/promises';
import { Session, appRssMb, mainThreadLag, scrollToMiddleMs, searchMs, sleep, waitFor } from './wd.mjs';

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
    const lag = await mainThreadLag(s);
    const e1 = await events();
    const ipc = await s.exec(() => ({ ...document.querySelector('[data-testid=throughput]').dataset }));
    const rate = Math.round(((e1 - e0) * 1000) / (Date.now() - t0));
    // Search: from typing to the table showing only matches (120 ms debounce included).
    const search = await searchMs(s, '"symbol"', "(r) => r.dataset.type === 'price'", 10000);
    const total = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    // Scroll to the middle of the matches: time until the rows for that position are shown.
    const scroll = await scrollToMiddleMs(s);
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
    const rssMb = appRssMb();
    await s.screenshot(`${out}/05-firehose.png`);
    console.log(JSON.stringify({ asked: RATE, ingestedPerSec: rate, windowRecordsPerSec: Number(ipc.records), batchesPerSec: Number(ipc.batches), ...lag, searchMs: search, matches: total, scrollMs: scroll, exportMs: exp.exportMs, exportMaxLagMs: exp.exportMaxLagMs, exportBytes, exportStatus: exp.status, rssMb }));
  } finally {
    await s.end();
  }
}
