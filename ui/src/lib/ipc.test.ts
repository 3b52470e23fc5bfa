import { expect, it } from 'vitest';
import { errorOf } from './ipc';

it('reads field errors from the backend and plain failures alike', () => {
  expect(errorOf({ field: 'url', message: 'URL scheme must be http or https, not "ftp"' })).toEqual({
    field: 'url',
    message: 'URL scheme must be http or https, not "ftp"',
  });
  expect(errorOf({ field: null, message: 'no feed "x"' })).toEqual({ field: null, message: 'no feed "x"' });
  expect(errorOf('invalid args `form` for command `add_feed`')).toEqual({
    field: null,
    message: 'invalid args `form` for command `add_feed`',
  });
});
