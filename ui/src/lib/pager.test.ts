import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_VIEW, Refresher, Scroller, clampFirst, lastFirst, scrolledTo, settle, shownRows, watchHeight, wheelPauses } from './pager';
import { scrollFor } from './table';

/** A task whose runs end when the test says so. */
function gated() {
  const ends: (() => void)[] = [];
  let runs = 0;
  const task = () =>
    new Promise<void>((resolve) => {
      runs++;
      ends.push(resolve);
    });
  return { task, runs: () => runs, end: () => ends.shift()?.() };
}

/** Lets the promise callbacks of an ended run settle. */
const settleRuns = () => vi.advanceTimersByTimeAsync(0);

describe('Refresher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks made while a run is in flight fold into one more run', async () => {
    vi.useFakeTimers();
    const g = gated();
    const r = new Refresher(g.task);
    void r.run();
    expect(r.busy).toBe(true);
    void r.run();
    void r.run();
    r.schedule(0);
    await vi.advanceTimersByTimeAsync(10);
    expect(g.runs()).toBe(1);
    g.end();
    await settleRuns();
    expect(g.runs()).toBe(2);
    g.end();
    await settleRuns();
    expect(g.runs()).toBe(2);
    expect(r.busy).toBe(false);
  });

  it('scheduled runs share one timer, the first delay wins', async () => {
    vi.useFakeTimers();
    const g = gated();
    const r = new Refresher(g.task);
    r.schedule(100);
    r.schedule(0);
    await vi.advanceTimersByTimeAsync(99);
    expect(g.runs()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(g.runs()).toBe(1);
  });

  it('throttle keeps runs a gap apart', async () => {
    vi.useFakeTimers();
    let now = 1000;
    const g = gated();
    const r = new Refresher(g.task, () => now);
    void r.run();
    g.end();
    await settleRuns();
    now += 40;
    expect(r.sinceLast()).toBe(40);
    r.throttle(150);
    await vi.advanceTimersByTimeAsync(109);
    expect(g.runs()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(g.runs()).toBe(2);
    g.end();
    await settleRuns();
    now += 500;
    r.throttle(150);
    await settleRuns();
    expect(g.runs()).toBe(3);
  });

  it('a task that asks again runs once more', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const r = new Refresher(async () => {
      if (++runs === 1) r.again();
    });
    await r.run();
    await settleRuns();
    expect(runs).toBe(2);
  });

  it('an escaping error does not stop later runs', async () => {
    vi.useFakeTimers();
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    let runs = 0;
    const r = new Refresher(async () => {
      runs++;
      throw new Error('boom');
    });
    await r.run();
    expect(r.busy).toBe(false);
    r.schedule(0);
    await settleRuns();
    expect(runs).toBe(2);
    expect(log).toHaveBeenCalledTimes(2);
    log.mockRestore();
  });

  it('stop drops the waiting run and refuses new ones', async () => {
    vi.useFakeTimers();
    const g = gated();
    const r = new Refresher(g.task);
    r.schedule(50);
    r.stop();
    r.schedule(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(g.runs()).toBe(0);
  });
});

describe('following', () => {
  it('following shows the last full window', () => {
    expect(lastFirst(100, 10)).toBe(90);
    expect(lastFirst(4, 10)).toBe(0);
    expect(shownRows([1, 2, 3, 4, 5], true, 3)).toEqual([3, 4, 5]);
    expect(shownRows([1, 2, 3, 4, 5], false, 3)).toEqual([1, 2, 3]);
  });

  it('a window is moved back to be full and never below zero', () => {
    expect(clampFirst(95, 100, 10)).toBe(90);
    expect(clampFirst(-3, 100, 10)).toBe(0);
    expect(clampFirst(5, 4, 10)).toBe(0);
    expect(clampFirst(40, 100, 10)).toBe(40);
  });

  it('a page while following starts the window', () => {
    expect(settle({ offset: 77, total: 100, rows: [1] }, true, 3, 20)).toEqual({ first: 77, again: false });
  });

  it('an empty page past the end moves back and asks again', () => {
    expect(settle({ offset: 500, total: 100, rows: [] }, false, 500, 20)).toEqual({ first: 80, again: true });
    expect(settle({ offset: 50, total: 0, rows: [] }, false, 50, 20)).toEqual({ first: 50, again: false });
    expect(settle({ offset: 40, total: 100, rows: [1, 2] }, false, 40, 20)).toEqual({ first: 40, again: false });
  });

  it('scrolling to the bottom follows again, elsewhere it pauses at the row shown', () => {
    // 100 rows of 20 px in a 200 px view: the bottom is at 1800.
    expect(scrolledTo(1800, 7, 100, 20, 200)).toEqual({ following: true, first: 7 });
    expect(scrolledTo(1785, 7, 100, 20, 200)).toEqual({ following: true, first: 7 });
    expect(scrolledTo(405, 7, 100, 20, 200)).toEqual({ following: false, first: 20 });
  });

  it('the wheel upwards pauses a list longer than the view', () => {
    expect(wheelPauses(-3, true, 100, 10)).toBe(true);
    expect(wheelPauses(3, true, 100, 10)).toBe(false);
    expect(wheelPauses(-3, false, 100, 10)).toBe(false);
    expect(wheelPauses(-3, true, 10, 10)).toBe(false);
  });
});

/** A scrolling element that clamps like a browser's. */
function box(max: number) {
  let top = 0;
  return {
    get scrollTop() {
      return top;
    },
    set scrollTop(v: number) {
      top = Math.max(0, Math.min(v, max));
    },
  };
}

describe('Scroller', () => {
  it("the scroll code caused is not the user's", () => {
    const el = box(1800);
    const s = new Scroller(20, () => el);
    s.to(400);
    expect(s.userTop()).toBeNull();
    el.scrollTop = 600;
    expect(s.userTop()).toBe(600);
  });

  it("a user's scroll landing elsewhere in the same frame still counts", () => {
    const el = box(1800);
    const s = new Scroller(20, () => el);
    s.to(400);
    el.scrollTop = 100;
    expect(s.userTop()).toBe(100);
  });

  it('code that does not move the view swallows no scroll', () => {
    const el = box(1800);
    const s = new Scroller(20, () => el);
    el.scrollTop = 1800;
    s.to(5000);
    s.to(1800);
    el.scrollTop = 1800 - 300;
    expect(s.userTop()).toBe(1500);
  });

  it('pins the bottom unless within a pixel and shows a row at the top', () => {
    const el = box(1800);
    const s = new Scroller(20, () => el);
    s.pinBottom(100, 200);
    expect(el.scrollTop).toBe(scrollFor(90, 100, 20, 200));
    expect(s.userTop()).toBeNull();
    el.scrollTop = 1799.5;
    s.pinBottom(100, 200);
    expect(el.scrollTop).toBe(1799.5);
    s.showFirst(10, 100, 200);
    expect(el.scrollTop).toBe(200);
  });

  it('does nothing without an element', () => {
    const s = new Scroller(20, () => undefined);
    s.to(10);
    s.pinBottom(100, 200);
    expect(s.userTop()).toBeNull();
  });
});

describe('watchHeight', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('reports the height capped and stops', () => {
    let fire = () => {};
    const disconnect = vi.fn();
    vi.stubGlobal(
      'ResizeObserver',
      class {
        constructor(cb: () => void) {
          fire = cb;
        }
        observe() {}
        disconnect = disconnect;
      },
    );
    const el = { clientHeight: 250 } as Element;
    const heights: number[] = [];
    const stop = watchHeight(el, (h) => heights.push(h));
    fire();
    (el as { clientHeight: number }).clientHeight = 1e6;
    fire();
    expect(heights).toEqual([250, MAX_VIEW]);
    stop();
    expect(disconnect).toHaveBeenCalled();
    expect(watchHeight(undefined, () => {})).toBeTypeOf('function');
  });
});
