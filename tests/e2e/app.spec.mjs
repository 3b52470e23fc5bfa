// The real window, driven through WebDriver: demo feed, adding a feed, reconnection with
// Last-Event-ID, filter and search, export.
import { readFile } from 'node:fs/promises';
import { Session, assert, sleep, sseServer, waitFor } from './wd.mjs';

export default async function run({ driver, out }) {
  const server = await sseServer();
  const s = await Session.start(driver);
  try {
    // 1. The demo feed is there and live on first launch.
    await waitFor('demo events', async () => (await s.rows()).filter((r) => r.kind === 'event').length >= 2, 20000);
    assert.equal(await s.badge('demo'), 'open');
    await s.screenshot(`${out}/01-demo.png`);

    // 2. Add a feed through the editor; a bad URL is refused next to the field.
    await s.click('[data-testid=add-feed]');
    await s.type('[data-testid=f-url]', 'ftp://127.0.0.1/stream');
    await s.click('[data-testid=f-save]');
    const err = await waitFor('URL error', () => s.text('[data-testid=err-url]'));
    assert.match(err, /http or https/);
    await s.type('[data-testid=f-url]', server.url);
    await s.type('[data-testid=f-name]', 'Loopback');
    await s.type('#f-retry', '300');
    await s.type('#f-backoff', '1000');
    await s.click('[data-testid=f-save]');
    await waitFor('editor closed', async () => (await s.text('[data-testid=editor]')) === null);
    await waitFor('loopback events', async () => (await s.rows()).some((r) => r.type === 'alpha'), 15000);
    assert.equal(await s.text('[data-testid=feed-title]'), 'Loopback');
    assert.equal(await s.badge('loopback'), 'open');

    // 3. The server drops: the badge says reconnecting; when it is back the feed resumes with
    //    Last-Event-ID and no event is repeated.
    await sleep(500);
    const before = server.state.requests.length;
    await server.drop();
    const seen = await waitFor('reconnecting badge', async () => {
      const b = await s.badge('loopback');
      return b && b.startsWith('reconnecting') ? b : null;
    }, 10000, 50);
    assert.match(seen, /^reconnecting( \d+(\.\d)?s)?$/);
    await s.screenshot(`${out}/02-reconnecting.png`);
    const lastId = Number(await s.text('[data-testid=last-event-id]'));
    assert.ok(lastId > 0, 'an event id was seen before the drop');
    await sleep(600);
    await server.resume();
    await waitFor('reopened', async () => (await s.badge('loopback')) === 'open', 15000);
    const resumed = server.state.requests.slice(before).find((r) => r.leid !== null);
    assert.ok(resumed, 'the reconnect sent Last-Event-ID');
    assert.equal(Number(resumed.leid), lastId, 'Last-Event-ID is the last id the app saw');
    await waitFor('events after resume', async () => Number(await s.text('[data-testid=last-event-id]')) > lastId + 3);

    // 4. Type chips and search narrow the table (filtering runs in the backend).
    const totalAll = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    await s.click('[data-testid=chips] [data-type=beta]');
    await waitFor('only beta rows', async () => {
      const rows = await s.rows();
      return rows.length > 0 && rows.every((r) => r.type === 'beta');
    });
    const totalBeta = Number(await s.exec(() => document.querySelector('[data-testid=table]').dataset.total));
    assert.ok(totalBeta > 0 && totalBeta < totalAll, `beta ${totalBeta} < all ${totalAll}`);
    await s.click('[data-testid=chips] [data-type=beta]');
    await s.type('[data-testid=search]', '"parity":"odd"');
    await waitFor('only odd rows', async () => {
      const rows = await s.rows();
      return rows.length > 0 && rows.every((r) => r.kind === 'event' && r.text.includes('"parity":"odd"'));
    });
    await s.click('[data-testid=regex]');
    await s.type('[data-testid=search]', '"n":1\\d,');
    await waitFor('regex rows', async () => {
      const rows = await s.rows();
      return rows.length === 10 && rows.every((r) => /"n":1\d,/.test(r.text));
    });
    await s.type('[data-testid=search]', '(');
    await waitFor('regex error', () => s.text('[data-testid=search-error]'));
    await s.click('[data-testid=regex]');
    await s.type('[data-testid=search]', 'alpha');
    await waitFor('alpha search', async () => {
      const rows = await s.rows();
      return rows.length > 0 && rows.every((r) => r.type === 'alpha');
    });
    // Detail of a row: the data pretty-printed.
    await s.click('[data-testid=table] .tr[data-kind=event]');
    const detail = await waitFor('detail', () => s.text('[data-testid=detail-data]'));
    assert.match(detail, /\{\n {2}"n": \d+,\n {2}"parity": "odd",/);
    await s.screenshot(`${out}/03-filtered.png`);

    // 5. Export (the filtered view first, then everything) and read the files back.
    await s.click('[data-testid=export]');
    let status = await waitFor('export done', async () => {
      const t = await s.text('[data-testid=status]');
      return t && t.startsWith('Exported') ? t : null;
    });
    let lines = (await readFile(`${out}/export.ndjson`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length > 0 && lines.every((r) => r.kind === 'event' && r.type === 'alpha' && r.feed === 'loopback'));
    // The count is formatted in the window's locale: compare digits only.
    assert.equal(Number(/Exported ([\d,.\s]+) records/.exec(status)?.[1].replace(/\D/g, '')), lines.length, status);
    await s.type('[data-testid=search]', 'x');
    await s.exec(() => {
      const el = document.querySelector('[data-testid=search]');
      el.value = '';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await waitFor('filter cleared', async () => (await s.rows()).some((r) => r.type === 'beta'));
    await s.click('[data-testid=export]');
    await waitFor('second export', async () => {
      const t = await s.text('[data-testid=status]');
      return t !== status && t.startsWith('Exported');
    });
    lines = (await readFile(`${out}/export.ndjson`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const kinds = new Set(lines.map((r) => r.kind));
    for (const k of ['connecting', 'open', 'event', 'disconnected', 'retry', 'comment']) assert.ok(kinds.has(k), `export has ${k}`);
    const seqs = lines.filter((r) => r.kind === 'event').map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    const ids = lines.filter((r) => r.kind === 'event').map((r) => Number(r.id));
    assert.equal(new Set(ids).size, ids.length, 'no event repeated across the reconnect');
  } catch (e) {
    await s.screenshot(`${out}/failure-app.png`).catch(() => {});
    throw e;
  } finally {
    await s.end();
    server.close();
  }
}
