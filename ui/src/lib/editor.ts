// Checks the editor can make before asking the backend (which validates everything again).

/** A message when `v` is not a whole number of at least `min`. */
export function numberField(v: number | null | undefined, min: number): string | null {
  if (v === null || v === undefined || Number.isNaN(v)) return 'enter a number';
  if (!Number.isInteger(v)) return 'a whole number';
  if (v < min) return `at least ${min}`;
  if (v > Number.MAX_SAFE_INTEGER) return 'too large';
  return null;
}
