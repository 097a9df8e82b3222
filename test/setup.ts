/**
 * Any unhandled rejection fails the test that was running when it surfaced, by name, on top of
 * the runner's own report of unhandled errors.
 */
import { afterEach, expect } from 'vitest';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

afterEach(() => {
  expect(unhandled.splice(0), 'unhandled promise rejections').toEqual([]);
});
