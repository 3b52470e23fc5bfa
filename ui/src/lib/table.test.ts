import { describe, expect, it } from 'vitest';
import { MAX_SPACER, atBottom, firstRow, scrollFor, tailCovers, viewport } from './table';

describe('virtual table', () => {
  it('maps pixels to rows one to one when small', () => {
    expect(viewport(100, 20, 200)).toEqual({ visible: 10, spacer: 2000 });
    expect(firstRow(0, 100, 20, 200)).toBe(0);
    expect(firstRow(205, 100, 20, 200)).toBe(10);
    expect(firstRow(1800, 100, 20, 200)).toBe(90);
    expect(scrollFor(10, 100, 20, 200)).toBe(200);
  });
  it('scales past the browser height limit and round-trips', () => {
    const total = 1_000_000;
    expect(viewport(total, 22, 660).spacer).toBe(MAX_SPACER);
    const bottom = MAX_SPACER - 660;
    expect(firstRow(bottom, total, 22, 660)).toBe(total - 30);
    const mid = scrollFor(500_000, total, 22, 660);
    expect(Math.abs(firstRow(mid, total, 22, 660) - 500_000)).toBeLessThanOrEqual(1);
    expect(atBottom(bottom, total, 22, 660)).toBe(true);
    expect(atBottom(mid, total, 22, 660)).toBe(false);
  });
  it('uses the tail of an update only when it covers the view without gaps', () => {
    const tail = [{ index: 5 }, { index: 6 }, { index: 7 }];
    expect(tailCovers(tail, 7, 3)).toBe(true);
    expect(tailCovers(tail, 8, 3)).toBe(false);
    expect(tailCovers([{ index: 5 }, { index: 7 }], 7, 2)).toBe(false);
    expect(tailCovers(tail, 7, 4)).toBe(false);
  });
});
