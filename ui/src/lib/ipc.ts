// The only module that talks to the backend: typed wrappers over Tauri's `invoke` and the one
// Channel that carries coalesced live updates. The types come from the Rust ones (ts-rs), in
// ipc.generated.ts; only the window's own settings are declared here.
import { Channel, invoke } from '@tauri-apps/api/core';
import type {
  AlertRule,
  AppError,
  AssembledView,
  CollectionExportDone,
  CompareReport,
  CollectionImportDone,
  ExportDone,
  ExportFormat,
  FeedForm,
  FeedInfo,
  InitInfo,
  Inspection,
  LiveUpdate,
  Query,
  RawExportDone,
  RawPage,
  RawRange,
  RecordDetail,
  RowPage,
  Sort,
} from './ipc.generated';

export type * from './ipc.generated';

/** The window's preferences: the backend stores them as they are and gives them back at `init`. */
export interface Settings {
  selected?: string;
  hideConnection?: boolean;
  exportFormat?: ExportFormat;
  /** The raw view is open beside the table. */
  raw?: boolean;
  /** The assembled view is open, and its preset. */
  assembled?: boolean;
  assemblePreset?: string;
}

export function errorOf(e: unknown): AppError {
  if (e && typeof e === 'object' && 'message' in e) {
    const o = e as { field?: unknown; message: unknown };
    return { field: typeof o.field === 'string' ? o.field : null, message: String(o.message) };
  }
  return { field: null, message: String(e) };
}

/** Opens the live link; the settings are the ones this window saved. */
export async function init(onUpdate: (u: LiveUpdate) => void): Promise<Omit<InitInfo, 'settings'> & { settings: Settings | null }> {
  const ch = new Channel<LiveUpdate>();
  ch.onmessage = onUpdate;
  return invoke('init', { onUpdate: ch });
}

export const addFeed = (form: FeedForm, connect: boolean) => invoke<FeedInfo>('add_feed', { form, connect });
export const updateFeed = (id: string, form: FeedForm) => invoke<FeedInfo>('update_feed', { id, form });
export const duplicateFeed = (id: string) => invoke<FeedInfo>('duplicate_feed', { id });
export const deleteFeed = (id: string) => invoke<void>('delete_feed', { id });
export const connectFeed = (id: string) => invoke<FeedInfo>('connect_feed', { id });
export const disconnectFeed = (id: string) => invoke<FeedInfo>('disconnect_feed', { id });
export const reconnectFeed = (id: string) => invoke<void>('reconnect_feed', { id });
export const clearFeed = (id: string) => invoke<void>('clear_feed', { id });
export const saveSettings = (settings: Settings) => invoke<void>('save_settings', { settings });

/** A page of matching rows; `offset: null` asks for the newest `limit` rows (the last page when
 *  sorted). With `sort`, the rows are in that column's order. */
export const queryEvents = (feed: string, filter: Query, offset: number | null, limit: number, sort: Sort | null = null) =>
  invoke<RowPage>('query_events', { feed, filter, offset, limit, sort });

/** The assembled answer of an LLM token stream (`preset`: openai-chat, openai-responses,
 *  anthropic or json:PATH); a bad preset is refused with the field `assemble`. */
export const assembled = (feed: string, preset: string) => invoke<AssembledView>('assembled', { feed, preset });

export const getRecord = (feed: string, index: number) =>
  invoke<RecordDetail | null>('get_record', { feed, index });

/** Opens the save dialog and writes the file from the backend; null when cancelled. */
export const exportFeed = (feed: string, filter: Query | null, format: ExportFormat) =>
  invoke<ExportDone | null>('export_feed', { feed, filter, format });

/** Rows of the feed's raw view from `offset`; `offset: null` asks for the newest `limit` rows. */
export const rawPage = (feed: string, offset: number | null, limit: number) =>
  invoke<RawPage>('raw_page', { feed, offset, limit });

/** The raw view's rows of the lines the record at `index` came from; null when not kept. */
export const rawLocate = (feed: string, index: number) => invoke<RawRange | null>('raw_locate', { feed, index });

/** Where the record at `index` is among the rows `filter` shows; null when it is not shown. */
export const recordPosition = (feed: string, filter: Query, index: number, sort: Sort | null = null) =>
  invoke<number | null>('record_position', { feed, filter, index, sort });

/** Opens the save dialog and writes the raw bytes as a `.sse` file; null when cancelled. */
export const exportRaw = (feed: string) => invoke<RawExportDone | null>('export_raw', { feed });

/** Sends a text message on the feed's open WebSocket (it appears in the timeline as `sent`). */
export const sendMessage = (feed: string, text: string) => invoke<void>('send_message', { feed, text });

/** Runs the demo feed over SSE, WebSocket, long polling and polling side by side. */
export const compareTransports = (durationSecs: number, pollSecs: number) =>
  invoke<CompareReport>('compare_transports', { durationSecs, pollSecs });

/** The selected feed's diagnostics and its activity over the last `seconds`. */
export const inspectFeed = (feed: string, seconds: number) => invoke<Inspection>('inspect_feed', { feed, seconds });

/** Sets the alert rules applied to every feed (a refusal names the rule). */
export const setGlobalAlerts = (rules: AlertRule[]) => invoke<void>('set_global_alerts', { rules });

/** The editor's form for a pasted `curl` command; a refusal has the field `curl`. */
export const importCurl = (command: string) => invoke<FeedForm>('import_curl', { command });

/** Opens the save dialog and writes every feed as a collection; null when cancelled. */
export const exportCollection = (includeSecrets: boolean) =>
  invoke<CollectionExportDone | null>('export_collection', { includeSecrets });

/** Opens the open dialog and adds the collection's feeds (not connected); null when cancelled. */
export const importCollection = () => invoke<CollectionImportDone | null>('import_collection');
