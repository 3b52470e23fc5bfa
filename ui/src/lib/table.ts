// Virtual scrolling math for the event table. Browsers cap element heights (WebKit near 2^24 px),
// so past MAX_SPACER the scrollbar maps proportionally onto rows instead of pixel for pixel.
export const MAX_SPACER = 8_000_000;

export interface Viewport {
  /** Rows that fit on screen. */
  visible: number;
  /** Height of the scrolling spacer in pixels. */
  spacer: number;
}

export function viewport(total: number, rowHeight: number, viewHeight: number): Viewport {
  const visible = Math.max(1, Math.floor(viewHeight / rowHeight));
  return { visible, spacer: Math.min(total * rowHeight, MAX_SPACER) };
}

/** The first row to show for a scroll position. */
export function firstRow(scrollTop: number, total: number, rowHeight: number, viewHeight: number): number {
  const { visible, spacer } = viewport(total, rowHeight, viewHeight);
  const maxFirst = Math.max(0, total - visible);
  const range = spacer - viewHeight;
  if (range <= 0) return 0;
  const f = spacer === total * rowHeight ? Math.floor(scrollTop / rowHeight) : Math.round((scrollTop / range) * maxFirst);
  return Math.min(maxFirst, Math.max(0, f));
}

/** The scroll position that shows `first` at the top. */
export function scrollFor(first: number, total: number, rowHeight: number, viewHeight: number): number {
  const { visible, spacer } = viewport(total, rowHeight, viewHeight);
  const maxFirst = Math.max(0, total - visible);
  const range = Math.max(0, spacer - viewHeight);
  if (spacer === total * rowHeight) return Math.min(range, first * rowHeight);
  return maxFirst === 0 ? 0 : (Math.min(first, maxFirst) / maxFirst) * range;
}

/** Whether the view is at (or within a row of) the bottom: scrolling there resumes follow. */
export function atBottom(scrollTop: number, total: number, rowHeight: number, viewHeight: number): boolean {
  const { spacer } = viewport(total, rowHeight, viewHeight);
  return scrollTop + viewHeight >= spacer - rowHeight;
}

/** Whether an update's tail of the selected feed covers the newest `need` rows with no gap. */
export function tailCovers(tail: { index: number }[], lastIndex: number, need: number): boolean {
  if (tail.length < need || tail.length === 0) return false;
  if (tail[tail.length - 1].index !== lastIndex) return false;
  for (let k = tail.length - need + 1; k < tail.length; k++) if (tail[k].index !== tail[k - 1].index + 1) return false;
  return true;
}
