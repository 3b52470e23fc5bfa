// The only module that talks to the backend: typed wrappers over Tauri's `invoke` and the one
// Channel that carries coalesced live batches.
import { Channel, invoke } from '@tauri-apps/api/core';

export type Mode = 'persistent' | 'browser';
export type ConnState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';
export type Format = 'ndjson' | 'json' | 'csv' | 'sse';

export interface Header {
  name: string;
  value: string;
}

/** Mirrors feedscope_core::FeedConfig (field names as serialized). */
export interface FeedConfig {
  url: string;
  method: string;
  headers: Header[];
  body: string | null;
  last_event_id: string;
  mode: Mode;
  retry_ms: number;
  max_backoff_ms: number;
  connect_timeout_ms: number;
  read_timeout_ms: number;
  insecure: boolean;
  max_line_bytes: number;
  max_event_bytes: number;
  jitter: boolean;
}

export interface FeedView {
  id: string;
  name: string;
  config: FeedConfig;
  history_cap: number;
  connected: boolean;
  demo: boolean;
  running: boolean;
}

export interface FeedInput {
  name: string;
  config: FeedConfig;
  history_cap: number;
}

export interface FeedStats {
  state: ConnState;
  reason: string | null;
  fatal: boolean;
  attempt: number;
  reconnects: number;
  status: number | null;
  headers: Record<string, string>;
  url: string | null;
  last_event_id: string;
  retry_ms: number | null;
  reconnect_at: string | null;
  events: number;
  comments: number;
  errors: number;
  bytes: number;
  rate: number;
  types: Record<string, number>;
  last_record_at: string | null;
  /** The last reason where persistent mode kept going and a browser would not have; kept after reconnecting. */
  browser_note: string | null;
  browser_note_at: string | null;
  retained: number;
  retained_bytes: number;
  evicted: number;
  first_index: number;
}

export type Kind = 'connecting' | 'open' | 'event' | 'comment' | 'retry' | 'error' | 'disconnected' | 'closed';

export interface Row {
  i: number;
  kind: Kind;
  ts: number;
  seq?: number;
  type?: string;
  id?: string;
  size: number;
  text: string;
}

export interface FeedUpdate {
  id: string;
  running: boolean;
  stats: FeedStats;
  tail: Row[];
}

export interface Batch {
  n: number;
  feeds: FeedUpdate[];
  records: number;
}

export interface Query {
  types: string[];
  text: string;
  regex: boolean;
  events_only: boolean;
}

export interface Page {
  total: number;
  offset: number;
  rows: Row[];
}

export interface RecordDetail {
  i: number;
  record: Record<string, unknown> & { kind: Kind; feed: string; ts: string };
  pretty: string | null;
}

export interface InitInfo {
  feeds: FeedView[];
  settings: Settings | null;
  notices: string[];
  select: string | null;
  version: string;
}

export interface Settings {
  selected?: string;
  hideConnection?: boolean;
  exportFormat?: Format;
}

export interface ExportDone {
  path: string;
  count: number;
  bytes: number;
}

/** A refusal from the backend; `field` names the editor field it is about. */
export interface AppError {
  field: string | null;
  message: string;
}

export function errorOf(e: unknown): AppError {
  if (e && typeof e === 'object' && 'message' in e) {
    const o = e as { field?: unknown; message: unknown };
    return { field: typeof o.field === 'string' ? o.field : null, message: String(o.message) };
  }
  return { field: null, message: String(e) };
}

export async function init(onBatch: (b: Batch) => void): Promise<InitInfo> {
  const ch = new Channel<Batch>();
  ch.onmessage = onBatch;
  return invoke<InitInfo>('init', { onBatch: ch });
}

export const listFeeds = () => invoke<FeedView[]>('list_feeds');
export const addFeed = (input: FeedInput, connect: boolean) => invoke<FeedView>('add_feed', { input, connect });
export const updateFeed = (id: string, input: FeedInput) => invoke<FeedView>('update_feed', { id, input });
export const duplicateFeed = (id: string) => invoke<FeedView>('duplicate_feed', { id });
export const deleteFeed = (id: string) => invoke<void>('delete_feed', { id });
export const connectFeed = (id: string) => invoke<FeedView>('connect_feed', { id });
export const disconnectFeed = (id: string) => invoke<FeedView>('disconnect_feed', { id });
export const reconnectFeed = (id: string) => invoke<void>('reconnect_feed', { id });
export const clearFeed = (id: string) => invoke<void>('clear_feed', { id });
export const saveSettings = (settings: Settings) => invoke<void>('save_settings', { settings });

/** A page of matching rows; `offset: null` asks for the newest `limit` rows. */
export const queryEvents = (feed: string, filter: Query, offset: number | null, limit: number) =>
  invoke<Page>('query_events', { feed, filter, offset, limit });

export const getRecord = (feed: string, index: number) =>
  invoke<RecordDetail | null>('get_record', { feed, index });

/** Opens the save dialog and writes the file from the backend; null when cancelled. */
export const exportFeed = (feed: string, filter: Query | null, format: Format) =>
  invoke<ExportDone | null>('export_feed', { feed, filter, format });
