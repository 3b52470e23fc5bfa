// Not part of `npm test`: screenshots of the editor (with a refused field), the help overlay and
// a row detail, for checking the look. `node tests/e2e/run.mjs shots` with DISPLAY set.
import { Session, sleep, waitFor } from './wd.mjs';

export default async function run({ driver, out }) {
  const s = await Session.start(driver);
  try {
    await waitFor('demo events', async () => (await s.rows()).filter((r) => r.kind === 'event').length >= 8, 20000);
    // A second feed that drops every 10 events, to show reconnections in the sidebar.
    const demo = await s.text('[data-feed=demo] .url');
    await s.click('[data-testid=add-feed]');
    await s.type('[data-testid=f-url]', demo.replace('/events', '/flaky?rate=20'));
    await s.type('[data-testid=f-name]', 'Flaky demo');
    await s.click('[data-testid=f-save]');
    await sleep(6000);
    await s.click('[data-feed=demo]');
    await sleep(1500);
    await s.click('[data-testid=table] .tr[data-type=price]');
    await sleep(300);
    await s.screenshot(`${out}/10-detail.png`);
    await s.click('[data-testid=add-feed]');
    await s.type('[data-testid=f-url]', 'ftp://example.com/stream');
    await s.click('[data-testid=f-save]');
    await waitFor('URL error', () => s.text('[data-testid=err-url]'));
    await s.screenshot(`${out}/11-editor.png`);
    await s.exec(() => document.querySelector('[data-testid=editor] button[type=button]:last-of-type')?.click());
    await s.exec(() => {
      [...document.querySelectorAll('.dialog button')].find((b) => b.textContent === 'Cancel')?.click();
    });
    await sleep(200);
    await s.exec(() => window.dispatchEvent(new KeyboardEvent('keydown', { key: '?' })));
    await sleep(200);
    await s.screenshot(`${out}/12-help.png`);
  } finally {
    await s.end();
  }
}
