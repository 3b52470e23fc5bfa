import { expect, it } from 'vitest';
import { numberField } from './editor';

it('number fields refuse empty, fractional and small values', () => {
  expect(numberField(null, 0)).toBe('enter a number');
  expect(numberField(1.5, 0)).toBe('a whole number');
  expect(numberField(5, 100)).toBe('at least 100');
  expect(numberField(3000, 0)).toBeNull();
});
