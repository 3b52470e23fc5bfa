// The paging both virtual lists share (the event table and the raw view): one page query at a
// time, with the asks that come meanwhile folded into one more, and the rules of following.
// The pixel math is table.ts's; here is what the lists do with it (tested with Vitest).
import { atBottom, firstRow, scrollFor, viewport } from './table';

/** The tallest view paged, in pixels: a layout bug must never turn into thousands of rows a page. */
export const MAX_VIEW = 4000;

/**
 * Runs `task` one at a time. A run asked for while one is in flight is folded into a single run
 * after it, and runs asked for with a delay share one timer: a burst of updates costs at most one
 * query in flight and one waiting. After `stop()` nothing more is scheduled.
 */
export class Refresher {
  #busy = false;
  #again = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** When the last run began (`now()`'s clock). */
  #last = 0;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether a run is in flight. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Milliseconds since the last run began. */
  sinceLast(): number {
    return this.now() - this.#last;
  }

  /** Runs after `delay` ms, unless a run is already waiting (that one runs, at its own time). */
  schedule(delay = 0): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.run();
    }, delay);
  }

  /** Runs no sooner than `gap` ms after the last run began. */
  throttle(gap: number): void {
    this.schedule(Math.max(0, gap - this.sinceLast()));
  }

  /** Asks for one more run once the one in flight ends (a task calls it when its answer is stale). */
  again(): void {
    this.#again = true;
  }

  /** Runs now, or once the run in flight ends. */
  async run(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#last = this.now();
    try {
      await this.task();
    } catch (e) {
      // The tasks report their own errors; one that escapes must not stop the runs after it.
      console.error(e);
    } finally {
      this.#busy = false;
      if (this.#again) {
        this.#again = false;
        this.schedule(0);
      }
    }
  }

  /** No more runs: the view is gone. A run in flight still ends. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The first row of a window of `visible` rows that ends with the last row (what following shows). */
export function lastFirst(total: number, visible: number): number {
  return Math.max(0, total - visible);
}

/** `first`, moved back so that the window is full where there are rows enough, and never below 0. */
export function clampFirst(first: number, total: number, visible: number): number {
  return Math.max(0, Math.min(first, total - visible));
}

/** The rows on screen of a page of `visible + 1`: following, the newest, bottom-aligned; otherwise
 *  those from the page's start. */
export function shownRows<T>(rows: T[], following: boolean, visible: number): T[] {
  return following ? rows.slice(-visible) : rows.slice(0, visible);
}

/** What a page changes. */
export interface Settled {
  /** The first row of the window. */
  first: number;
  /** The page came back empty: ask again for the rows now at `first`. */
  again: boolean;
}

/** Where a page leaves the window. Following, at the page's start. Otherwise an empty page means
 *  the window fell past the end (the cap evicted rows, or the filter narrowed): back onto the last rows. */
export function settle(page: { offset: number; total: number; rows: unknown[] }, following: boolean, first: number, visible: number): Settled {
  if (following) return { first: page.offset, again: false };
  if (page.rows.length === 0 && page.total > 0) return { first: clampFirst(first, page.total, visible), again: true };
  return { first, again: false };
}

/** Where the user's scroll to `top` leaves the window that starts at `first`: at the bottom,
 *  following again; elsewhere, paused at the row it shows. */
export function scrolledTo(top: number, first: number, total: number, rowHeight: number, viewHeight: number): { following: boolean; first: number } {
  if (atBottom(top, total, rowHeight, viewHeight)) return { following: true, first };
  return { following: false, first: firstRow(top, total, rowHeight, viewHeight) };
}

/** Whether a turn of the wheel pauses following: upwards, in a list longer than the view. */
export function wheelPauses(deltaY: number, following: boolean, total: number, visible: number): boolean {
  return deltaY < 0 && following && total > visible;
}

/** What a Scroller needs of its element (an HTMLElement; a plain object in tests). */
export interface ScrollBox {
  scrollTop: number;
}

/**
 * A virtual list's scrolling element, scrolled by code as well as by the user: code's scroll
 * events are told apart by where they land, so a user's scroll in the same frame still counts.
 */
export class Scroller {
  /** Where code last scrolled to: the scroll event that lands there is not the user's. */
  #expect: number | null = null;

  constructor(
    private readonly rowHeight: number,
    private readonly element: () => ScrollBox | undefined,
  ) {}

  /** Scrolls to `top` from code. */
  to(top: number): void {
    const el = this.element();
    if (!el) return;
    const before = el.scrollTop;
    el.scrollTop = top;
    // Only a change brings a scroll event (a position already there, or clamped to it, brings
    // none): an expectation kept without one would swallow the user's next scroll.
    if (el.scrollTop !== before) this.#expect = el.scrollTop;
  }

  /** On a scroll event: where the user scrolled to, or null when code did. */
  userTop(): number | null {
    const el = this.element();
    if (!el) return null;
    const top = el.scrollTop;
    const ours = this.#expect !== null && Math.abs(top - this.#expect) < 1;
    this.#expect = null;
    return ours ? null : top;
  }

  /** Scrolls so that row `first` is at the top. */
  showFirst(first: number, total: number, viewHeight: number): void {
    this.to(scrollFor(first, total, this.rowHeight, viewHeight));
  }

  /** Scrolls to the last rows, unless within a pixel of them already. */
  pinBottom(total: number, viewHeight: number): void {
    const el = this.element();
    if (!el) return;
    const { visible } = viewport(total, this.rowHeight, viewHeight);
    const target = scrollFor(lastFirst(total, visible), total, this.rowHeight, viewHeight);
    if (Math.abs(el.scrollTop - target) > 1) this.to(target);
  }
}

/** Calls `onHeight` with `el`'s height (at most MAX_VIEW) once it is laid out and whenever it is
 *  resized; returns the stop. */
export function watchHeight(el: Element | undefined, onHeight: (height: number) => void): () => void {
  if (!el) return () => {};
  const ro = new ResizeObserver(() => onHeight(Math.min(el.clientHeight, MAX_VIEW)));
  ro.observe(el);
  return () => ro.disconnect();
}
