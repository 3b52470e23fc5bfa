// Pure formatting helpers for the window (tested with Vitest).
import type { ConnState, FeedStats, Kind } from './ipc';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local wall-clock time with milliseconds: `14:03:07.042`. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Compact counts: 999, 1.2k, 34k, 1.5M. */
export function count(n: number): string {
  if (n < 1000) return String(n);
  if (n < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 2 : 1)}M`;
}

export function rate(r: number): string {
  if (r === 0) return '0/s';
  if (r < 10) return `${r.toFixed(1)}/s`;
  return `${count(Math.round(r))}/s`;
}

/** Milliseconds since the epoch of a time the backend sends (RFC 3339); null when absent or unreadable. */
export function millis(at: string | null | undefined): number | null {
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : t;
}

/** How long ago `at` (milliseconds since the epoch) was, for people; `–` for never. */
export function ago(at: number | null, now: number): string {
  if (at === null) return '–';
  const s = Math.max(0, (now - at) / 1000);
  if (s < 10) return `${s.toFixed(1)} s ago`;
  if (s < 120) return `${Math.round(s)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Seconds left until `at` (RFC 3339), never negative; null when there is no pending reconnect. */
export function countdown(at: string | null, now: number): number | null {
  const t = millis(at);
  return t === null ? null : Math.max(0, (t - now) / 1000);
}

export interface Badge {
  label: string;
  tone: 'idle' | 'busy' | 'ok' | 'warn' | 'bad';
  title: string;
}

/** The sidebar's state badge: what a user needs at a glance. */
export function badge(s: FeedStats | undefined, running: boolean, now: number): Badge {
  const state: ConnState = s?.state ?? 'idle';
  switch (state) {
    case 'open':
      if (s?.stalled) return { label: 'stalled', tone: 'warn', title: 'No event for longer than the stall watchdog allows' };
      return { label: 'open', tone: 'ok', title: `HTTP ${s?.status ?? ''}` };
    case 'connecting':
      return { label: s && s.attempt > 1 ? `connecting #${s.attempt}` : 'connecting', tone: 'busy', title: s?.url ?? '' };
    case 'reconnecting': {
      const left = countdown(s?.reconnect_at ?? null, now);
      return {
        label: left === null ? 'reconnecting' : `reconnecting ${left.toFixed(left < 10 ? 1 : 0)}s`,
        tone: 'warn',
        title: s?.reason ?? '',
      };
    }
    case 'closed':
      if (s?.fatal) return { label: 'failed', tone: 'bad', title: s.reason ?? '' };
      return { label: 'closed', tone: 'idle', title: s?.reason ?? '' };
    default:
      return { label: running ? 'starting' : 'idle', tone: 'idle', title: '' };
  }
}

/**
 * The status line after an export. A history keeps only the newest records up to its cap, so when
 * the cap has evicted older ones the file cannot hold them, and the message says how many.
 * `evictedBefore` / `evictedAfter` are the feed's `evicted` counter when the export started and
 * ended: equal on a stopped feed (exact), or a lower bound while the feed still evicts.
 */
export function exportMessage(
  done: { count: number; bytes: number; path: string },
  evictedBefore: number,
  evictedAfter: number,
): string {
  const what = `${done.count.toLocaleString()} records (${bytes(done.bytes)}`;
  if (evictedAfter <= 0) return `Exported ${what}) to ${done.path}`;
  const n = `${evictedAfter === evictedBefore ? '' : 'at least '}${evictedBefore.toLocaleString()}`;
  return `Exported ${what}; ${n} older records were evicted by the history cap and are not in it) to ${done.path}`;
}
