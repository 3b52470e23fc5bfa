// After a restart the feeds are still there; a damaged settings file is set aside, the last good
// copy is restored, and the user is told.
import { readdir, writeFile } from 'node:fs/promises';
import { Session, assert, sseServer, waitFor } from './wd.mjs';

const feedIds = (s) => s.exec(() => [...document.querySelectorAll('[data-feed]')].map((li) => li.dataset.feed));

export default async function run({ driver, out, dataDir }) {
  let s = await Session.start(driver);
  try {
    const ids = await waitFor('feeds listed', async () => {
      const ids = await feedIds(s);
      return ids.includes('loopback') ? ids : null;
    });
    assert.deepEqual(ids, ['demo', 'loopback']);
    // The demo feed comes back connected on its new port.
    await waitFor('demo open', async () => (await s.badge('demo')) === 'open', 15000);
  } finally {
    await s.end();
  }

  // A crash in the middle of the plugin's in-place save leaves a truncated file.
  const file = `${dataDir}/dev.feedscope.app/feedscope.json`;
  await writeFile(file, '{"feeds": [{"id": "lo');
  s = await Session.start(driver);
  try {
    const notice = await waitFor('notice', () => s.text('[data-testid=notice]'));
    assert.match(notice, /damaged.*restored the last good copy/);
    assert.deepEqual(await feedIds(s), ['demo', 'loopback']);
    await s.screenshot(`${out}/04-restored.png`);
  } finally {
    await s.end();
  }
  const kept = (await readdir(`${dataDir}/dev.feedscope.app`)).filter((n) => n.includes('.damaged-'));
  assert.equal(kept.length, 1, 'the damaged file is kept for the user');

  // `feedscope-app URL`: opens with that feed added, connected and selected.
  const server = await sseServer();
  s = await Session.start(driver, [`${server.url}?fail=503`]);
  try {
    const name = server.url.replace('http://', '');
    await waitFor('feed from the command line', async () => (await s.text('[data-testid=feed-title]')) === name);
    // Persistent mode retried the 503, and the connection panel says a browser would have stopped.
    await waitFor('its events', async () => (await s.rows()).some((r) => r.type === 'beta'), 20000);
    assert.match(await s.text('[data-testid=browser-note]'), /503.*a browser/);
    await s.screenshot(`${out}/05-browser-note.png`);
    assert.equal((await feedIds(s)).length, 3);
  } finally {
    await s.end();
    server.close();
  }
}
