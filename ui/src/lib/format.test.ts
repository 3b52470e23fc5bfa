import { describe, expect, it } from 'vitest';
import { ago, badge, bytes, count, countdown, exportMessage, millis, rate } from './format';
import type { FeedStats } from './ipc';

const stats = (over: Partial<FeedStats>): FeedStats => ({
  state: 'idle', reason: null, fatal: false, attempt: 0, reconnects: 0, status: null, headers: {}, url: null,
  last_event_id: '', retry_ms: null, reconnect_at: null, events: 0, comments: 0, errors: 0, bytes: 0, rate: 0,
  types: {}, last_record_at: null, browser_note: null, browser_note_at: null, retained: 0, retained_bytes: 0, evicted: 0, first_index: 0,
  last_event_at: null, last_byte_at: null, stalled: false, alerts: 0, last_alert: null,
  requests: 0, connections: 0, wire_bytes: 0, pings: 0, pongs: 0, unchanged: 0, sent: 0, ...over,
});

describe('badge', () => {
  it('shows a countdown while reconnecting', () => {
    const now = Date.parse('2026-01-01T00:00:00.000Z');
    const b = badge(stats({ state: 'reconnecting', reconnect_at: '2026-01-01T00:00:02.500Z', reason: 'eof' }), true, now);
    expect(b).toEqual({ label: 'reconnecting 2.5s', tone: 'warn', title: 'eof' });
  });
  it('says stalled when the watchdog fired on an open feed', () => {
    expect(badge(stats({ state: 'open', stalled: true }), true, 0)).toMatchObject({ label: 'stalled', tone: 'warn' });
    expect(badge(stats({ state: 'open', status: 200 }), true, 0).label).toBe('open');
  });
  it('tells failed from closed', () => {
    expect(badge(stats({ state: 'closed', fatal: true, reason: 'HTTP 404' }), false, 0).label).toBe('failed');
    expect(badge(stats({ state: 'closed', fatal: false }), false, 0).label).toBe('closed');
    expect(badge(stats({ state: 'connecting', attempt: 3 }), true, 0).label).toBe('connecting #3');
    expect(badge(undefined, false, 0).label).toBe('idle');
  });
});

describe('formatting', () => {
  it('counts, rates, bytes', () => {
    expect(count(999)).toBe('999');
    expect(count(1234)).toBe('1.2k');
    expect(count(1_500_000)).toBe('1.50M');
    expect(rate(0)).toBe('0/s');
    expect(rate(4.2)).toBe('4.2/s');
    expect(rate(52_000)).toBe('52k/s');
    expect(bytes(512)).toBe('512 B');
    expect(bytes(2048)).toBe('2.0 KB');
  });
  it('countdown never goes negative', () => {
    expect(countdown(null, 0)).toBeNull();
    expect(countdown('1970-01-01T00:00:01.000Z', 5000)).toBe(0);
  });
  it('reads the backend\'s times, and nothing from an absent or broken one', () => {
    expect(millis('1970-01-01T00:00:01.500Z')).toBe(1500);
    expect(millis(null)).toBeNull();
    expect(millis('soon')).toBeNull();
  });
});

describe('exportMessage', () => {
  const done = { count: 1000, bytes: 2048, path: '/tmp/x.ndjson' };
  it('is plain when nothing was evicted', () => {
    expect(exportMessage(done, 0, 0)).toBe(`Exported ${(1000).toLocaleString()} records (2.0 KB) to /tmp/x.ndjson`);
  });
  it('says how many older records the history cap evicted', () => {
    const n = (4007).toLocaleString();
    expect(exportMessage(done, 4007, 4007)).toBe(
      `Exported ${(1000).toLocaleString()} records (2.0 KB; ${n} older records were evicted by the history cap and are not in it) to /tmp/x.ndjson`,
    );
    // Still evicting while the file was written: the count at the start is a lower bound.
    expect(exportMessage(done, 4007, 4100)).toContain(`at least ${n} older records were evicted`);
  });
});

describe('ago', () => {
  it('reads as people say it', () => {
    expect(ago(null, 0)).toBe('–');
    expect(ago(1000, 1400)).toBe('0.4 s ago');
    expect(ago(0, 45_000)).toBe('45 s ago');
    expect(ago(0, 600_000)).toBe('10 min ago');
  });
});
