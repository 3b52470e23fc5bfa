// A 100,000-event burst in the real window (the in-app demo server's /burst?n=100000, ~100-byte
// `tick` events written as fast as they are read, then the end of the body):
//   - while it is ingested the window answers: script round trips and real clicks (the Follow
//     toggle) are sampled, and a 10 ms timer watches the main thread; only a hang (no answer in
//     10 s) fails, the figures are printed for the docs;
//   - the feed is in `browser` mode: after the body ends it reconnects with Last-Event-ID 100000,
//     the demo answers 204 and the feed closes, so the burst is not sent twice;
//   - the table holds all of it: every record retained, 100,000 rows with "Events only", the top
//     row is seq 1, the bottom row seq 100000, and pages sampled across the scroll range show
//     row k as seq k+1 (no gap anywhere);
//   - the NDJSON export has exactly 100,000 events, seq and id 1..100000 in order.
// Then eviction: a 5,000-event burst into a feed capped at 1,000 records. The status line and
// the table say how many records the cap evicted, the retained events have no gap, and the
// export's message says that the evicted records are not in the file.
import { readFile } from 'node:fs/promises';
import { Session, assert, waitFor } from './wd.mjs';

const N = 100_000;
const CAP = 110_000;
const SMALL = 5_000;
const SMALL_CAP = 1_000;
/** No timing assertions: only a window that does not answer for this long fails. */
const HANG_MS = 10_000;

const key = (s, k) => s.exec((k) => window.dispatchEvent(new KeyboardEvent('keydown', { key: k })), k);
const digits = (t) => Number(String(t).replace(/\D/g, ''));
const events = (s, id) => s.exec((id) => Number(document.querySelector(`[data-feed="${id}"]`)?.dataset.events ?? -1), id);
const tableTotal = (s) => s.exec(() => Number(document.querySelector('[data-testid=table]')?.dataset.total ?? -1));
const retention = (s) =>
  s.exec(() => {
    const d = document.querySelector('[data-testid=retention]')?.dataset;
    return d ? { retained: Number(d.retained), evicted: Number(d.evicted) } : null;
  });
/** The rows on screen with their seq cell (null for connection records). */
const seqRows = (s) =>
  s.exec(() =>
    [...document.querySelectorAll('[data-testid=table] .tr')].map((r) => ({
      kind: r.dataset.kind,
      seq: r.dataset.kind === 'event' ? Number(r.querySelector('.c-seq').textContent) : null,
    })),
  );

/** Rejects when `p` has not settled within HANG_MS: the window hangs. */
async function answered(what, p) {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${HANG_MS / 1000} s, the window hangs`)), HANG_MS);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

const stat = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? { n: v.length, min: v[0], median: v[Math.floor(v.length / 2)], max: v[v.length - 1] } : { n: 0 };
};

async function setToggle(s, testid, on) {
  const now = await s.exec((t) => document.querySelector(`[data-testid=${t}]`).classList.contains('on'), testid);
  if (now !== on) await s.click(`[data-testid=${testid}]`);
}

/** Fills the editor for a browser-mode feed; the caller clicks save. */
async function fillEditor(s, { url, name, cap }) {
  await s.click('[data-testid=add-feed]');
  await s.type('[data-testid=f-url]', url);
  await s.type('[data-testid=f-name]', name);
  await s.exec(() => {
    const m = document.querySelector('[data-testid=f-mode]');
    m.value = 'browser';
    m.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await s.type('[data-testid=f-cap]', String(cap));
}

/** Saves the editor and waits for the new feed to be selected. */
async function save(s, id) {
  await s.click('[data-testid=f-save]');
  await waitFor('editor closed', async () => (await s.text('[data-testid=editor]')) === null, HANG_MS);
  await waitFor(`${id} selected`, () => s.exec((id) => document.querySelector(`[data-feed="${id}"]`)?.getAttribute('aria-selected') === 'true', id));
}

/** Scrolls so that row `first` is at the top and waits for that page's rows. */
async function scrollTo(s, first, check) {
  await s.exec((f) => {
    const sc = document.querySelector('[data-testid=table] .scroller');
    sc.scrollTop = f * 22;
  }, first);
  return waitFor(`page at ${first}`, async () => {
    const rows = await seqRows(s);
    return rows.length > 0 && check(rows) ? rows : null;
  }, HANG_MS, 50);
}

const consecutive = (rows, from) => rows.every((r, k) => r.kind === 'event' && r.seq === from + k);

async function exportAll(s) {
  await s.exec(() => {
    const m = document.querySelector('[data-testid=export-format]');
    m.value = 'ndjson';
    m.dispatchEvent(new Event('change', { bubbles: true }));
  });
  const before = await s.text('[data-testid=status]');
  await s.click('[data-testid=export]');
  return waitFor('export done', async () => {
    const t = await s.text('[data-testid=status]');
    return t && t !== before && t.startsWith('Export') && t !== 'Exporting…' ? t : null;
  }, 120000, 100);
}

async function deleteFeed(s, id) {
  await s.click(`[data-feed="${id}"]`);
  await s.click(`[data-feed="${id}"] [data-testid=feed-delete]`);
  await s.click(`[data-feed="${id}"] [data-testid=feed-delete-confirm]`);
  await waitFor(`${id} deleted`, async () => (await s.text(`[data-feed="${id}"]`)) === null);
}

export default async function run({ driver, out }) {
  const s = await Session.start(driver);
  try {
    const demo = await waitFor('demo url', () => s.text('[data-feed=demo] .url'), 20000);
    const base = demo.replace(/\/events.*$/, '');
    await setToggle(s, 'hide-conn', false);

    // 1. The burst, and the window while it is ingested.
    const id = 'burst-100k';
    await fillEditor(s, { url: `${base}/burst?n=${N}`, name: 'Burst 100k', cap: CAP });
    // In the window: when the save click lands, when the first and the 100,000th event are
    // shown, and the main thread's lag (a 10 ms timer's extra delay) in between.
    await s.exec(
      (id, n) => {
        const m = (window.__burst = { t0: null, tFirst: null, tDone: null, maxLag: 0, sumLag: 0, ticks: 0 });
        document.addEventListener('click', (e) => {
          if (m.t0 === null && e.target.closest?.('[data-testid=f-save]')) m.t0 = performance.now();
        }, true);
        let last = performance.now();
        m.timer = setInterval(() => {
          const t = performance.now();
          const lag = Math.max(0, t - last - 10);
          last = t;
          if (m.t0 === null || m.tDone !== null) return;
          m.maxLag = Math.max(m.maxLag, lag);
          m.sumLag += lag;
          m.ticks++;
          const ev = Number(document.querySelector(`[data-feed="${id}"]`)?.dataset.events ?? 0);
          if (m.tFirst === null && ev > 0) m.tFirst = t;
          if (ev >= n) m.tDone = t;
        }, 10);
      },
      id,
      N,
    );
    await save(s, id);
    const roundTrips = [];
    const clicks = [];
    const seenAt = [];
    const deadline = Date.now() + 300_000;
    for (;;) {
      let t = Date.now();
      const ev = await answered('a script round trip', events(s, id));
      roundTrips.push(Date.now() - t);
      seenAt.push(ev);
      if (ev >= N) break;
      assert.ok(Date.now() < deadline, `the burst was not ingested within 5 minutes (${ev} events)`);
      // A real click (WebDriver input) on the Follow toggle, until its label changes.
      const label = await s.text('[data-testid=follow]');
      t = Date.now();
      await answered('a click', s.click('[data-testid=follow]'));
      await waitFor('the Follow toggle to answer', async () => (await s.text('[data-testid=follow]')) !== label, HANG_MS, 5);
      clicks.push(Date.now() - t);
    }
    const mon = await s.exec(() => {
      const m = window.__burst;
      clearInterval(m.timer);
      return { ...m, timer: undefined };
    });
    await setToggle(s, 'follow', true);

    // After the body ends the feed reconnects with Last-Event-ID 100000, gets a 204 and closes.
    await waitFor('closed after the 204', async () => (await s.badge(id)) === 'closed', 30000, 100);
    assert.equal(await events(s, id), N, 'the burst was ingested once');
    const ret = await waitFor('retention', () => retention(s));
    assert.equal(ret.evicted, 0, 'nothing evicted under the cap');
    assert.ok(ret.retained > N && ret.retained < N + 20, `retained ${ret.retained}: the events and a few connection records`);

    // 2. The table: every record, top to bottom.
    await waitFor('every record in the table', async () => (await tableTotal(s)) === ret.retained, HANG_MS);
    assert.equal(digits(await s.text('[data-testid=row-count]')), ret.retained);
    await key(s, 'Home');
    let rows = await waitFor('top of the table', async () => {
      const r = await seqRows(s);
      return r[0]?.kind === 'connecting' ? r : null;
    }, HANG_MS);
    assert.equal(rows.find((r) => r.kind === 'event')?.seq, 1, 'the first event row is seq 1');
    await key(s, 'End');
    rows = await waitFor('bottom of the table', async () => {
      const r = await seqRows(s);
      return r.at(-1)?.kind === 'closed' ? r : null;
    }, HANG_MS);
    assert.equal(rows.filter((r) => r.kind === 'event').at(-1)?.seq, N, 'the last event row is seq 100000');

    // Events only: exactly N rows, row k is seq k+1 wherever the table is scrolled.
    await setToggle(s, 'hide-conn', true);
    await waitFor('100,000 event rows', async () => (await tableTotal(s)) === N, HANG_MS);
    await key(s, 'Home');
    rows = await waitFor('first page', async () => {
      const r = await seqRows(s);
      return r[0]?.seq === 1 ? r : null;
    }, HANG_MS);
    assert.ok(rows.length > 5 && consecutive(rows, 1), 'the first page is seq 1, 2, 3…');
    for (const at of [1, 9_999, 31_337, 50_000, 77_777, N - 500]) {
      rows = await scrollTo(s, at, (r) => r[0].seq === at + 1);
      assert.ok(consecutive(rows, at + 1), `the page at row ${at} is seq ${at + 1}, ${at + 2}…`);
    }
    await key(s, 'End');
    rows = await waitFor('last page', async () => {
      const r = await seqRows(s);
      return r.at(-1)?.seq === N ? r : null;
    }, HANG_MS);
    assert.ok(consecutive(rows, N - rows.length + 1), 'the last page ends with seq 100000, no gap');
    assert.match(await s.text('[data-testid=row-count]'), /matching/);
    assert.equal(digits(await s.text('[data-testid=row-count]')), N);
    assert.equal(await s.text('[data-testid=evicted]'), null, 'no eviction note under the cap');
    await s.screenshot(`${out}/07-burst-100k.png`);
    await setToggle(s, 'hide-conn', false);
    await waitFor('all records again', async () => (await tableTotal(s)) === ret.retained, HANG_MS);

    // 3. Export everything retained and read it back.
    let status = await exportAll(s);
    assert.match(status, /^Exported /, status);
    assert.doesNotMatch(status, /evicted/);
    let lines = (await readFile(`${out}/export.ndjson`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, ret.retained, 'the export holds every retained record');
    assert.equal(digits(/Exported ([\d,.\s]+) records/.exec(status)?.[1]), lines.length, status);
    let evs = lines.filter((r) => r.kind === 'event');
    assert.equal(evs.length, N, 'exactly 100,000 events exported');
    evs.forEach((r, k) => {
      if (r.seq !== k + 1 || r.id !== String(k + 1) || r.type !== 'tick' || r.feed !== id) {
        assert.fail(`export line ${k}: expected seq/id ${k + 1}, got ${JSON.stringify(r)}`);
      }
    });
    assert.equal(lines.at(-1).kind, 'closed');

    console.log(
      `burst: ${JSON.stringify({
        events: N,
        ingestMs: mon.tDone !== null && mon.t0 !== null ? Math.round(mon.tDone - mon.t0) : null,
        firstEventMs: mon.tFirst !== null && mon.t0 !== null ? Math.round(mon.tFirst - mon.t0) : null,
        mainThreadLagMs: { max: Math.round(mon.maxLag), mean: +(mon.sumLag / Math.max(1, mon.ticks)).toFixed(1) },
        scriptRoundTripMs: stat(roundTrips),
        clickToRenderMs: stat(clicks),
        eventsSeenAtSamples: seenAt,
        exportStatus: status,
      })}`,
    );

    // 4. Eviction: 5,000 events into a feed that keeps 1,000 records.
    const small = 'burst-evict';
    await fillEditor(s, { url: `${base}/burst?n=${SMALL}`, name: 'Burst evict', cap: SMALL_CAP });
    await save(s, small);
    await waitFor('small burst closed', async () => (await s.badge(small)) === 'closed' && (await events(s, small)) === SMALL, 60000, 100);
    const r2 = await waitFor('retention of the capped feed', async () => {
      const r = await retention(s);
      return r && r.retained === SMALL_CAP ? r : null;
    });
    assert.ok(r2.evicted > SMALL - SMALL_CAP, `evicted ${r2.evicted}`);
    // The status line and the table say how many were evicted.
    const line = await s.text('[data-testid=retention]');
    assert.equal(digits(/([\d,.\s]+) evicted/.exec(line)?.[1]), r2.evicted, line);
    const note = await waitFor('eviction note under the table', () => s.text('[data-testid=evicted]'));
    assert.equal(digits(note), r2.evicted, note);
    // The retained events have no gap and end with the last one sent.
    await setToggle(s, 'hide-conn', true);
    const kept = await waitFor('event rows of the capped feed', async () => {
      const t = await tableTotal(s);
      return t > 0 && t < SMALL_CAP ? t : null;
    }, HANG_MS);
    await key(s, 'Home');
    rows = await waitFor('first retained event', async () => {
      const r = await seqRows(s);
      return r[0]?.seq === SMALL - kept + 1 ? r : null;
    }, HANG_MS);
    assert.ok(consecutive(rows, SMALL - kept + 1));
    await s.screenshot(`${out}/08-burst-evicted.png`);
    await setToggle(s, 'hide-conn', false);
    await key(s, 'End');
    await waitFor('all retained records', async () => (await tableTotal(s)) === SMALL_CAP, HANG_MS);
    // The export holds what is retained, and its message says what the cap evicted.
    status = await exportAll(s);
    assert.match(status, /older records were evicted by the history cap/, status);
    assert.equal(digits(/; ([\d,.\s]+) older records were evicted/.exec(status)?.[1]), r2.evicted, status);
    lines = (await readFile(`${out}/export.ndjson`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, SMALL_CAP);
    evs = lines.filter((r) => r.kind === 'event');
    assert.equal(evs.length, kept);
    evs.forEach((r, k) => assert.equal(r.seq, SMALL - kept + 1 + k));
    console.log(`burst: eviction ${JSON.stringify({ sent: SMALL, cap: SMALL_CAP, ...r2, statusLine: line, tableNote: note, exportStatus: status })}`);

    // Leave the shared data directory as it was: no feed that bursts again on the next start.
    await deleteFeed(s, small);
    await deleteFeed(s, id);
  } catch (e) {
    await s.screenshot(`${out}/failure-burst.png`).catch(() => {});
    throw e;
  } finally {
    await s.end();
  }
}
