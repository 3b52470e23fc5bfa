// The raw view: a server's comment line is shown as it came, with its line end, under the
// connection's request and response; selecting it selects its record in the table beside it, a
// line of an event selects that event, an event selected in the table lights its lines, and the
// raw bytes export as a .sse file.
import { readFile } from 'node:fs/promises';
import { Session, assert, sseServer, waitFor } from './wd.mjs';

const key = (s, k) => s.exec((k) => window.dispatchEvent(new KeyboardEvent('keydown', { key: k })), k);

/** The raw view's line rows on screen. */
const rawLines = (s) =>
  s.exec(() =>
    [...document.querySelectorAll('[data-testid=raw] .line')].map((l) => ({
      cls: l.dataset.class,
      record: l.dataset.record ?? null,
      text: l.querySelector('.text').textContent,
      end: l.querySelector('.eol').dataset.end,
      lit: l.classList.contains('lit'),
    })),
  );

const selectedRow = (s) =>
  s.exec(() => {
    const r = document.querySelector('[data-testid=table] .tr.sel');
    return r ? { kind: r.dataset.kind, text: r.textContent } : null;
  });

export default async function run({ driver, out }) {
  const server = await sseServer();
  const s = await Session.start(driver, [server.url]);
  try {
    const name = server.url.replace('http://', '');
    await waitFor('feed from the command line', async () => (await s.text('[data-testid=feed-title]')) === name);
    await waitFor('its events', async () => (await s.rows()).filter((r) => r.kind === 'event').length >= 6, 20000);

    // R opens the raw view under the table; its start holds the connection and the prelude.
    await key(s, 'r');
    await waitFor('raw view', () => s.exec(() => document.querySelector('[data-testid=raw]') !== null));
    await waitFor('raw lines', async () => (await rawLines(s)).length > 0);
    // Scrolling up pauses its follow, like the table's.
    const comment = await waitFor('the comment line', async () => {
      await s.exec(() => {
        document.querySelector('[data-testid=raw] .scroller').scrollTop = 0;
      });
      return (await rawLines(s)).find((l) => l.cls === 'comment' && l.text === ': hello from the e2e fixture');
    });
    assert.equal(await s.text('[data-testid=raw-follow]'), 'Follow');
    assert.equal(comment.end, 'lf');
    assert.ok(comment.record !== null, 'the comment line is linked to its record');
    const head = await s.exec(() => [...document.querySelectorAll('[data-testid=raw] .conn')].map((r) => r.textContent.trim()));
    assert.match(head[0], /^▸\s*connection 1 · attempt 1 · \d\d:\d\d:\d\d\.\d{3} · no Last-Event-ID$/);
    assert.ok(head.some((t) => t.includes(`GET ${server.url}`)), head.join('\n'));
    assert.ok(head.some((t) => /→\s*accept: text\/event-stream/.test(t)), head.join('\n'));
    assert.ok(head.some((t) => /←\s*HTTP\/1\.1 200/.test(t)), head.join('\n'));
    assert.ok(head.some((t) => /←\s*x-fixture: feedscope-e2e/.test(t)), head.join('\n'));
    const prelude = (await rawLines(s)).slice(0, 3).map((l) => [l.cls, l.text, l.end]);
    assert.deepEqual(prelude, [
      ['retry', 'retry: 300', 'lf'],
      ['comment', ': hello from the e2e fixture', 'lf'],
      ['blank', '', 'lf'],
    ]);

    // Selecting the comment line selects its record in the table beside it, and its detail.
    await s.click('[data-testid=raw] .line[data-class=comment]');
    await waitFor('the comment selected in the table', async () => (await selectedRow(s))?.kind === 'comment');
    assert.match((await selectedRow(s)).text, /hello from the e2e fixture/);
    assert.match(await waitFor('its detail', () => s.text('[data-testid=detail-data]')), /hello from the e2e fixture/);
    await s.screenshot(`${out}/09-raw-comment.png`);

    // A line of an event selects that event; its lines light up.
    await waitFor('an event line', async () => {
      await s.exec(() => {
        document.querySelector('[data-testid=raw] .scroller').scrollTop = 300;
      });
      return (await rawLines(s)).some((l) => l.cls === 'data');
    });
    await s.click('[data-testid=raw] .line[data-class=data]');
    const event = await waitFor('the event selected', async () => {
      const r = await selectedRow(s);
      return r?.kind === 'event' ? r : null;
    });
    const detail = await waitFor('its detail', async () => {
      const t = await s.text('[data-testid=detail-data]');
      return t && t.includes('"n"') ? t : null;
    });
    const n = Number(/"n": (\d+)/.exec(detail)[1]);
    assert.match(event.text, new RegExp(`"n":${n},`));
    const lit = await waitFor('its lines lit', async () => {
      const l = (await rawLines(s)).filter((x) => x.lit);
      return l.length === 4 ? l : null;
    });
    assert.deepEqual(
      lit.map((l) => l.cls),
      ['event', 'id', 'data', 'blank'],
    );
    assert.equal(lit[1].text, `id: ${n}`);

    // An event selected in the table lights its lines in the raw view (scrolled to them).
    await s.click('[data-testid=table] .tr[data-kind=event]:not(.sel)');
    const other = await waitFor('another event', async () => {
      const t = await s.text('[data-testid=detail-data]');
      const m = t && /"n": (\d+)/.exec(t);
      return m && Number(m[1]) !== n ? Number(m[1]) : null;
    });
    await waitFor('its lines lit', async () => (await rawLines(s)).some((l) => l.lit && l.text === `id: ${other}`));

    // The cap's figures, and the raw export: the bytes as they came, which feedscope replay serves.
    assert.match(await s.text('[data-testid=raw-stats]'), /kept · cap 8 MiB/);
    await s.click('[data-testid=export-raw]');
    const status = await waitFor('raw export done', async () => {
      const t = await s.text('[data-testid=status]');
      return t && t.startsWith('Exported') ? t : null;
    });
    assert.match(status, /raw bytes, 1 connection to .*export\.sse$/);
    const sse = await readFile(`${out}/export.sse`, 'utf8');
    assert.ok(sse.startsWith('retry: 300\n: hello from the e2e fixture\n\nevent: alpha\nid: 1\n'), sse.slice(0, 200));
    await s.screenshot(`${out}/10-raw-event.png`);
  } catch (e) {
    await s.screenshot(`${out}/failure-raw.png`).catch(() => {});
    throw e;
  } finally {
    await s.end();
    server.close();
  }
}
