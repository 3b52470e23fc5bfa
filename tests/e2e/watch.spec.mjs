// Watching a feed: the buffering diagnostic in the connection panel for a feed whose events come
// in bursts after silences; an alert rule that fires on a matching event (an alert row in the
// timeline and the panel's last alert); the search box's query mode; and the stall watchdog's
// "stalled" badge.
import { Session, assert, sseServer, waitFor } from './wd.mjs';

/** Adds a feed through the editor; `more` fills extra fields before saving. */
async function addFeed(s, url, more = async () => {}) {
  await s.click('[data-testid=add-feed]');
  await s.type('[data-testid=f-url]', url);
  await more();
  await s.click('[data-testid=f-save]');
  await waitFor('editor closed', async () => (await s.text('[data-testid=editor]')) === null);
  const name = url.replace('http://', '');
  await waitFor(`${name} selected`, async () => (await s.text('[data-testid=feed-title]')) === name);
}

export default async function run({ driver, out }) {
  const server = await sseServer();
  const base = server.url.replace(/\/stream$/, '');
  const s = await Session.start(driver, [`${base}/buffered`]);
  try {
    // 1. Events held back and let through in bursts: the panel names the buffering.
    await waitFor('feed from the command line', async () => (await s.text('[data-testid=feed-title]'))?.endsWith('/buffered'));
    const finding = await waitFor(
      'buffering diagnostic',
      () => s.exec(() => document.querySelector('[data-testid=diagnostics] li[data-code=buffering]')?.textContent ?? null),
      30000,
      200,
    );
    assert.match(finding, /warning/);
    assert.ok(await s.exec(() => document.querySelector('[data-testid=chart-events]') !== null), 'the events chart is shown');
    await s.screenshot(`${out}/09-buffering.png`);

    // 2. An alert rule on the event type `beta`: the timeline gets an alert row after such an
    //    event, and the panel shows the last alert.
    await addFeed(s, `${base}/stream`, async () => {
      await s.click('[data-testid=alert-add]');
      await s.type('[data-testid=alert-type]', 'beta');
    });
    const rows = await waitFor(
      'an alert row after its event',
      async () => {
        const rows = await s.rows();
        return rows.some((r, i) => i > 0 && r.kind === 'alert') ? rows : null;
      },
      15000,
    );
    const at = rows.findIndex((r, i) => i > 0 && r.kind === 'alert');
    assert.equal(rows[at - 1].type, 'beta', 'the alert follows the event that fired it');
    assert.match(await waitFor('last alert', () => s.text('[data-testid=last-alert]')), /beta/);
    await s.screenshot(`${out}/10-alert.png`);

    // The search box's query mode (ƒx): the engine evaluates the expression on every record.
    await s.click('[data-testid=query-mode]');
    await s.type('[data-testid=search]', 'type == "beta" && data.n > 2');
    await waitFor('only beta events past n 2', async () => {
      const rows = await s.rows();
      return rows.length > 0 && rows.every((r) => r.kind === 'event' && r.type === 'beta' && !r.text.includes('"n":2,'));
    });
    await s.type('[data-testid=search]', 'type ==');
    assert.match(await waitFor('query error', () => s.text('[data-testid=search-error]')), /column/);
    await s.click('[data-testid=query-mode]');
    await s.exec(() => {
      const el = document.querySelector('[data-testid=search]');
      el.value = '';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });

    // 3. One event, then silence: with a 1 s stall watchdog the badge says stalled.
    await addFeed(s, `${base}/quiet`, async () => {
      await s.type('[data-testid=f-stall]', '1');
    });
    await waitFor('stalled badge', async () => (await s.text('[data-testid=conn-state]')) === 'stalled', 15000);
    await s.screenshot(`${out}/11-stalled.png`);
  } finally {
    await s.end();
    server.close();
  }
}
