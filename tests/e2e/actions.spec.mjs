// Feed actions from the window: disconnect and connect, duplicate, edit (with a refused field),
// delete; hiding connection records; the help overlay.
import { Session, assert, waitFor } from './wd.mjs';

const key = (s, k) => s.exec((k) => window.dispatchEvent(new KeyboardEvent('keydown', { key: k })), k);

export default async function run({ driver, out }) {
  const s = await Session.start(driver);
  try {
    await s.click('[data-feed=demo]');
    await waitFor('demo open', async () => (await s.badge('demo')) === 'open', 15000);

    await s.click('[data-testid=disconnect]');
    await waitFor('closed', async () => (await s.badge('demo')) === 'closed');
    await waitFor('closed record', async () => (await s.rows()).some((r) => r.kind === 'closed'));
    await s.click('[data-testid=connect]');
    await waitFor('open again', async () => (await s.badge('demo')) === 'open', 15000);

    // Connection records can be hidden.
    await s.click('[data-testid=hide-conn]');
    await waitFor('events only', async () => {
      const rows = await s.rows();
      return rows.length > 0 && rows.every((r) => r.kind === 'event');
    });
    await s.click('[data-testid=hide-conn]');

    await s.click('[data-feed=demo] [data-testid=feed-duplicate]');
    await waitFor('copy selected', async () => (await s.text('[data-testid=feed-title]')) === 'Demo feed copy');
    assert.equal(await s.badge('demo-feed-copy'), 'idle');

    await s.click('[data-feed=demo-feed-copy] [data-testid=feed-edit]');
    await s.type('[data-testid=f-name]', 'Renamed copy');
    await s.type('[data-testid=f-cap]', '5');
    await s.click('[data-testid=f-save]');
    assert.match(await waitFor('cap error', () => s.text('[data-testid=err-history_cap]')), /between 100 and/);
    await s.type('[data-testid=f-cap]', '1000');
    await s.click('[data-testid=f-save]');
    await waitFor('renamed', async () => (await s.text('[data-testid=feed-title]')) === 'Renamed copy');

    await s.click('[data-feed=demo-feed-copy] [data-testid=feed-delete]');
    await s.click('[data-feed=demo-feed-copy] [data-testid=feed-delete-confirm]');
    await waitFor('deleted', async () => (await s.text('[data-feed=demo-feed-copy]')) === null);

    // Keyboard: F pauses follow, arrows select rows (the detail follows), End resumes.
    await s.click('[data-feed=demo]');
    await waitFor('demo rows', async () => (await s.rows()).length > 3);
    await key(s, 'f');
    await waitFor('paused', async () => (await s.text('[data-testid=follow]')) === 'Follow');
    await key(s, 'ArrowDown');
    await key(s, 'ArrowDown');
    await waitFor('a selected row', () => s.exec(() => document.querySelector('[data-testid=table] .tr.sel')?.dataset.kind ?? null));
    assert.ok(await waitFor('its detail', () => s.text('[data-testid=detail-data]')));
    await key(s, 'End');
    await waitFor('following', async () => (await s.text('[data-testid=follow]')) === 'Following');

    await key(s, '?');
    await waitFor('help', () => s.text('[data-testid=help]'));
    await key(s, 'Escape');
    await waitFor('help closed', async () => (await s.text('[data-testid=help]')) === null);
  } catch (e) {
    await s.screenshot(`${out}/failure-actions.png`).catch(() => {});
    throw e;
  } finally {
    await s.end();
  }
}
