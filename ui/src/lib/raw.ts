// The raw view's labels and figures (tested with Vitest). The backend sends each line's text made
// safe to show, what the parser makes of it (`class`) and how it ends (`end`): here they only
// get their words.
import type { LineClass, LineEnd, RawExportDone, RawRange, RawRow, RawStats } from './ipc';
import { bytes, clock } from './format';

/** The first row of a connection: which, when, and what it resumed from. */
export function connectionLabel(r: Extract<RawRow, { kind: 'connection' }>): string {
  const parts = [`connection ${r.conn}`];
  if (r.attempt !== null) parts.push(`attempt ${r.attempt}`);
  if (r.ts !== null) parts.push(clock(r.ts));
  if (r.last_event_id === null) parts.push('joined after it began: its request was not kept');
  else parts.push(r.last_event_id === '' ? 'no Last-Event-ID' : `Last-Event-ID ${r.last_event_id}`);
  return parts.join(' · ');
}

/** Each line end: its escape (always drawable, unlike the ␍␊ glyphs some fonts lack) and what it means. */
const LINE_ENDS: Record<LineEnd, { escape: string; title: string }> = {
  lf: { escape: '\\n', title: 'LF' },
  cr: { escape: '\\r', title: 'a lone CR: it ends the line on its own' },
  crlf: { escape: '\\r\\n', title: 'CRLF: one line end' },
  none: { escape: '', title: 'no line end yet: the last bytes received' },
};

/** Each line's class: what the parser does with it. The badge is the class's name unless given. */
const LINE_CLASSES: Record<LineClass, { badge?: string; title: string }> = {
  blank: { title: 'a blank line: dispatches the event' },
  comment: { title: 'a comment (often a heartbeat): ignored by EventSource' },
  data: { title: 'data: appended to the event data' },
  event: { title: 'event: sets the event type' },
  id: { title: 'id: sets the last event ID' },
  retry: { title: 'retry: sets the reconnection time' },
  ignored_id: { badge: 'id ✗', title: 'an id containing NUL: ignored' },
  ignored_retry: { badge: 'retry ✗', title: 'a retry that is not only digits: ignored' },
  unknown: { title: 'an unknown field (names are case-sensitive): ignored' },
};

/** A line end as an escape. */
export function lineEnd(e: LineEnd): string {
  return LINE_ENDS[e].escape;
}

export function lineEndTitle(e: LineEnd): string {
  return LINE_ENDS[e].title;
}

/** The badge of a line: what the parser does with it. */
export function lineClass(c: LineClass): string {
  return LINE_CLASSES[c].badge ?? c;
}

export function lineClassTitle(c: LineClass): string {
  return LINE_CLASSES[c].title;
}

/** Whether `row` is one of the range's rows. */
export function inRange(row: number, r: RawRange | null): boolean {
  return r !== null && row >= r.first && row < r.first + r.count;
}

/** The first row to show so that `r` is on screen, or null when it already is. */
export function scrollTo(r: RawRange, first: number, visible: number): number | null {
  if (r.first >= first && r.first + Math.min(r.count, visible) <= first + visible) return null;
  return Math.max(0, r.first - Math.max(0, Math.floor((visible - r.count) / 3)));
}

/** What the cap kept and evicted, for the raw view's bar. */
export function rawSummary(s: RawStats): string {
  if (s.cap_mib === 0) return 'raw bytes off (cap 0 MiB)';
  let t = `${bytes(s.body_bytes)} kept · cap ${s.cap_mib} MiB`;
  if (s.evicted_bytes > 0 || s.evicted_connections > 0) {
    t += ` · ${bytes(s.evicted_bytes)} evicted`;
    if (s.evicted_connections > 0) t += ` (${s.evicted_connections.toLocaleString()} connection${s.evicted_connections === 1 ? '' : 's'})`;
  }
  return t;
}

export function rawExportMessage(done: RawExportDone, s: RawStats | null): string {
  const what = `${bytes(done.bytes)} of raw bytes, ${done.connections.toLocaleString()} connection${done.connections === 1 ? '' : 's'}`;
  const evicted = s && s.evicted_bytes > 0 ? `; ${bytes(s.evicted_bytes)} evicted by the raw cap are not in it` : '';
  return `Exported ${what}${evicted} to ${done.path}`;
}
