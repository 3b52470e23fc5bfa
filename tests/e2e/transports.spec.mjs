// Every kind of live feed: a WebSocket feed added in the editor (from its ws:// URL), a message
// sent from the send box shown as a `sent` record, and the Compare view measuring the demo feed
// over the four transports (four rows; the figures are reported, not asserted).
import { Session, assert, waitFor } from './wd.mjs';

export default async function run({ driver, out }) {
  const s = await Session.start(driver, []);
  try {
    // The app's own demo server (the demo feed's address) serves /ws.
    const demoUrl = await waitFor('demo feed', () => s.text('[data-feed=demo] .url'));
    const base = demoUrl.replace(/\/events$/, '');
    const ws = base.replace(/^http/, 'ws') + '/ws';

    await s.click('[data-testid=add-feed]');
    await s.type('[data-testid=f-url]', ws);
    await waitFor('transport follows the ws:// URL', async () => (await s.exec(() => document.querySelector('[data-testid=f-transport]').value)) === 'websocket');
    await s.type('[data-testid=f-type-path]', 'type');
    await s.click('[data-testid=f-save]');
    await waitFor('editor closed', async () => (await s.text('[data-testid=editor]')) === null);
    await waitFor('ws feed selected', async () => (await s.text('[data-testid=transport]')) === 'websocket');
    await waitFor('messages as events', async () => (await s.rows()).filter((r) => r.kind === 'event').length >= 3, 20000);

    await waitFor('send box enabled', () => s.exec(() => !document.querySelector('[data-testid=send-text]').disabled));
    await s.type('[data-testid=send-text]', '{"op":"ping","from":"e2e"}');
    await s.click('[data-testid=send]');
    const sent = await waitFor('a sent record', async () => (await s.rows()).find((r) => r.kind === 'sent') ?? null);
    assert.match(sent.text, /"from":"e2e"/);
    await s.screenshot(`${out}/15-websocket.png`);

    await s.click('[data-testid=open-compare]');
    await s.type('[data-testid=compare-duration]', '3');
    await s.type('[data-testid=compare-interval]', '1');
    await s.click('[data-testid=compare-run]');
    const rows = await waitFor(
      'four compare rows',
      async () => {
        const error = await s.text('[data-testid=compare-error]');
        if (error) throw new Error(`compare failed: ${error}`);
        const rows = await s.exec(() => [...document.querySelectorAll('[data-testid=compare-row]')].map((r) => r.dataset.transport));
        return rows.length === 4 ? rows : null;
      },
      60000,
      500,
    );
    assert.deepEqual(rows, ['sse', 'websocket', 'long-poll', 'poll']);
    assert.equal(await s.text('[data-testid=compare-error]'), null);
    await s.screenshot(`${out}/16-compare.png`);
  } catch (e) {
    await s.screenshot(`${out}/failed-transports.png`).catch(() => {});
    throw e;
  } finally {
    await s.end();
  }
}
