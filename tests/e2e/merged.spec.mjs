// Not part of `npm test`: measures the window's merged timeline (All feeds) with many feeds live.
// FEEDS feeds (100 by default) of the e2e fixture's /stream (an event every 40 ms each, so
// 2,500 events/s in all) are opened from the command line and run until they hold FILL events
// (100,000 by default); then: the time from a click on All
// feeds to its rows, the main thread's lag while it follows, a query over every feed, and a
// scroll to the middle. Run with `bash scripts/test-app.sh merged`; figures go to stdout.
import { Session, appRssMb, mainThreadLag, scrollToMiddleMs, searchMs, sseServer, waitFor } from './wd.mjs';

const FEEDS = Number(process.env.MERGED_FEEDS ?? 100);
/** Records held in all before measuring (at 25 events/s a feed). */
const FILL = Number(process.env.MERGED_FILL ?? 100000);

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
    // Main-thread lag while following every feed.
    const lag = await mainThreadLag(s);
    const ipc = await s.exec(() => ({ ...document.querySelector('[data-testid=throughput]').dataset }));
    const retained = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    // A query over every feed: from typing to a table of only matching rows (debounce included).
    await s.click('[data-testid=query-mode]');
    const queryMs = await searchMs(s, 'type == "beta" && data.n > 10', "(r) => r.dataset.type === 'beta'");
    const matches = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    // Scroll to the middle of the matches: time until other rows are shown.
    const scrollMs = await scrollToMiddleMs(s);
    const rssMb = appRssMb();
    await s.screenshot(`${out}/17-merged-${FEEDS}.png`);
    console.log(JSON.stringify({ feeds: FEEDS, openMs, ...lag, windowRecordsPerSec: Number(ipc.records), batchesPerSec: Number(ipc.batches), retained, queryMs, matches, scrollMs, rssMb }));
  } finally {
    await s.end();
    server.close();
  }
}
