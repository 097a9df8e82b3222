/**
 * Any unhandled rejection fails the test that was running when it surfaced, by name, on top of
 * the runner's own report of unhandled errors; so does any traffic off loopback.
 */
import { afterEach, expect } from 'vitest';
import { offLoopback } from './loopback-guard.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

afterEach(() => {
  expect(unhandled.splice(0), 'unhandled promise rejections').toEqual([]);
  expect(offLoopback.splice(0), 'lookups or connections off loopback').toEqual([]);
});
