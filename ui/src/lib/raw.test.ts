import { expect, it } from 'vitest';
import { connectionLabel, inRange, lineClass, lineClassTitle, lineEnd, lineEndTitle, rawExportMessage, rawSummary, scrollTo } from './raw';

it('labels a connection with its attempt and Last-Event-ID', () => {
  const c = { kind: 'connection' as const, conn: 2, attempt: 3, ts: null, last_event_id: '41' };
  expect(connectionLabel(c)).toBe('connection 2 · attempt 3 · Last-Event-ID 41');
  expect(connectionLabel({ ...c, last_event_id: '' })).toBe('connection 2 · attempt 3 · no Last-Event-ID');
  expect(connectionLabel({ ...c, attempt: null, last_event_id: null })).toBe('connection 2 · joined after it began: its request was not kept');
  expect(connectionLabel({ ...c, ts: 0 })).toMatch(/^connection 2 · attempt 3 · \d\d:\d\d:\d\d\.000 · Last-Event-ID 41$/);
});

it('shows line ends as escapes', () => {
  expect([lineEnd('lf'), lineEnd('cr'), lineEnd('crlf'), lineEnd('none')]).toEqual(['\\n', '\\r', '\\r\\n', '']);
});

it('marks ignored fields', () => {
  expect(lineClass('ignored_retry')).toBe('retry ✗');
  expect(lineClass('comment')).toBe('comment');
});

it('knows the rows of a range and where to scroll for it', () => {
  const r = { first: 10, count: 4 };
  expect([inRange(9, r), inRange(10, r), inRange(13, r), inRange(14, r), inRange(1, null)]).toEqual([false, true, true, false, false]);
  expect(scrollTo(r, 5, 20)).toBeNull();
  expect(scrollTo(r, 12, 20)).toBe(5);
  expect(scrollTo({ first: 100, count: 50 }, 0, 20)).toBe(100);
  expect(scrollTo({ first: 2, count: 1 }, 30, 20)).toBe(0);
});

it('says what the cap kept and evicted', () => {
  const s = { cap_mib: 8, retained_bytes: 0, body_bytes: 2048, connections: 2, evicted_bytes: 0, evicted_connections: 0 };
  expect(rawSummary(s)).toBe('2.0 KB kept · cap 8 MiB');
  expect(rawSummary({ ...s, evicted_bytes: 3 * 1024 * 1024, evicted_connections: 1 })).toBe('2.0 KB kept · cap 8 MiB · 3.0 MB evicted (1 connection)');
  expect(rawSummary({ ...s, cap_mib: 0 })).toBe('raw bytes off (cap 0 MiB)');
  expect(rawExportMessage({ path: '/tmp/x.sse', connections: 2, bytes: 100 }, { ...s, evicted_bytes: 2048 })).toBe(
    'Exported 100 B of raw bytes, 2 connections; 2.0 KB evicted by the raw cap are not in it to /tmp/x.sse',
  );
});

it('explains each line end and class', () => {
  expect(lineEndTitle('cr')).toBe('a lone CR: it ends the line on its own');
  expect(lineEndTitle('none')).toBe('no line end yet: the last bytes received');
  expect(lineClass('ignored_id')).toBe('id ✗');
  expect(lineClassTitle('blank')).toBe('a blank line: dispatches the event');
  expect(lineClassTitle('ignored_retry')).toBe('a retry that is not only digits: ignored');
});
