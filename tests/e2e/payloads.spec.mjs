// Understanding payloads: a JSON field picked in the record detail becomes a table column, sorted
// by a header click; a pasted curl command fills the editor; the merged timeline of all feeds
// shows rows of two feeds; the assembled view shows an LLM stream's text.
import { Session, assert, sseServer, waitFor } from './wd.mjs';

/** What the fixture's `/llm` streams (feedscope_testkit::e2e::LLM_TEXT). */
const LLM_TEXT = 'Server-Sent Events keep one HTTP response open and push text frames down it.';

/** The values of the column `name` in the rows on screen (events only). */
function columnValues(s, name) {
  return s.exec(
    (name) => [...document.querySelectorAll(`[data-testid=table] .tr[data-kind=event] .c-col[data-column="${name}"]`)].map((c) => c.textContent),
    name,
  );
}

export default async function run({ driver, out }) {
  const server = await sseServer();
  const base = server.url.replace(/\/stream$/, '');
  const s = await Session.start(driver, [`${base}/stream`]);
  try {
    await waitFor('feed from the command line', async () => (await s.text('[data-testid=feed-title]'))?.endsWith('/stream'));
    await waitFor('events', async () => (await s.rows()).filter((r) => r.kind === 'event').length >= 6);

    // 1. A JSON column: select an event (the table paused, so the row stays put), add `data.n`
    //    from the detail's fields.
    await s.click('[data-testid=follow]');
    await s.click('[data-testid=table] .tr[data-kind=event]');
    await s.click('[data-testid=add-column][data-field="data.n"]');
    await waitFor('column head', () => s.text('[data-testid=column-head][data-column="data.n"]'));
    const values = await waitFor('column values', async () => {
      const v = await columnValues(s, 'data.n');
      return v.length >= 4 && v.every((x) => /^\d+$/.test(x)) ? v.map(Number) : null;
    });
    assert.ok(values.every((v, i) => i === 0 || v > values[i - 1]), `arrival order: ${values}`);

    // Sorted by the column, descending (second click): the newest page holds the smallest n, and
    // numbers sort as numbers (9 before 10 ascending means 10 before 9 here).
    await s.click('[data-testid=column-head][data-column="data.n"] button');
    await s.click('[data-testid=column-head][data-column="data.n"] button');
    await waitFor('sorted descending', async () => (await s.exec(() => document.querySelector('[data-testid=table]').dataset.sort)) === 'data.n desc');
    await s.exec(() => document.querySelector('[data-testid=table] .scroller').scrollTo(0, 0));
    const sorted = await waitFor('rows in descending order', async () => {
      const v = (await columnValues(s, 'data.n')).map(Number);
      return v.length >= 4 && v.every((x, i) => i === 0 || x <= v[i - 1]) && v[0] >= 10 ? v : null;
    });
    assert.ok(sorted[0] > sorted[sorted.length - 1]);
    await s.screenshot(`${out}/12-json-column.png`);
    await s.click('[data-testid=unsort]');
    await waitFor('arrival order again', async () => (await s.exec(() => document.querySelector('[data-testid=table]').dataset.sort)) === '');

    // 2. A pasted curl command fills the editor: URL, method, headers, body.
    await s.click('[data-testid=add-feed]');
    await s.type(
      '[data-testid=f-curl]',
      `curl -N -X PUT -H 'X-Trace: e2e' -H 'Accept: text/event-stream' --data-raw '{"q":1}' '${base}/stream-curl'`,
    );
    await s.click('[data-testid=f-curl-import]');
    await waitFor('URL from curl', async () => (await s.exec(() => document.querySelector('[data-testid=f-url]').value)) === `${base}/stream-curl`);
    assert.equal(await s.exec(() => document.querySelector('#f-method').value), 'PUT');
    assert.equal(await s.exec(() => document.querySelector('#f-body').value), '{"q":1}');
    const headers = await s.exec(() => [...document.querySelectorAll('.header-row')].map((r) => [...r.querySelectorAll('input')].map((i) => i.value).join(': ')));
    // Like curl, -d without a Content-Type sends a form's.
    assert.deepEqual(headers, ['X-Trace: e2e', 'Accept: text/event-stream', 'Content-Type: application/x-www-form-urlencoded']);
    await s.click('[data-testid=f-save]');
    await waitFor('curl feed selected', async () => (await s.text('[data-testid=feed-title]'))?.endsWith('/stream-curl'));
    await waitFor('curl feed gets events', async () => (await s.rows()).some((r) => r.kind === 'event'));

    // 3. The merged timeline: the rows of both feeds in one table, each naming its feed; the
    //    search narrows it as it does one feed.
    await s.click('[data-testid=all-feeds]');
    await waitFor('merged title', async () => (await s.text('[data-testid=feed-title]')) === 'All feeds');
    const rowFeeds = () =>
      s.exec(() => [...new Set([...document.querySelectorAll('[data-testid=table] .tr[data-kind=event] [data-testid=row-feed]')].map((e) => e.textContent))]);
    const names = await waitFor('rows of two feeds', async () => {
      const names = await rowFeeds();
      return names.length >= 2 ? names : null;
    });
    assert.ok(names.some((n) => n.endsWith('/stream-curl')), `feeds: ${names}`);
    await s.click('[data-testid=query-mode]');
    await s.type('[data-testid=search]', 'type == "beta"');
    await waitFor('only beta events of both feeds', async () => {
      const rows = await s.rows();
      return rows.length > 0 && rows.every((r) => r.kind === 'event' && r.type === 'beta') && (await rowFeeds()).length >= 2;
    });
    await s.screenshot(`${out}/13-merged.png`);
    await s.click('[data-testid=query-mode]');
    await s.exec(() => {
      const el = document.querySelector('[data-testid=search]');
      el.value = '';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });

    // 4. An LLM token stream (OpenAI Chat Completions chunks): the assembled view shows its text.
    await s.click('[data-testid=add-feed]');
    await s.type('[data-testid=f-url]', `${base}/llm`);
    await s.click('[data-testid=f-save]');
    await waitFor('llm feed selected', async () => (await s.text('[data-testid=feed-title]'))?.endsWith('/llm'));
    await s.click('[data-testid=assembled-toggle]');
    const text = await waitFor('assembled text', async () => {
      const t = await s.text('[data-testid=assembled-text]');
      return (await s.text('[data-testid=assemble-state]')) === 'complete' ? t : null;
    });
    assert.equal(text, LLM_TEXT);
    await s.screenshot(`${out}/14-assembled.png`);
  } finally {
    await s.end();
    server.close();
  }
}
