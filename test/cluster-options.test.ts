/**
 * The `cluster` option is checked at construction like every other option, and ioredis is
 * loaded only when the dispatcher must make a client itself. Here `createRequire` finds no
 * ioredis, as in an application that never installed it.
 */
import { describe, expect, it, vi } from 'vitest';
import { Dispatcher } from '../src/index.js';

vi.mock('node:module', async (original) => ({
  ...(await original<typeof import('node:module')>()),
  createRequire: () => (id: string) => {
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  },
}));

function refusal(options: unknown): Error & { code?: string } {
  try {
    new Dispatcher(options as never);
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('Expected the options to be refused');
}

describe('the cluster option', () => {
  it.each([
    ['no redis', {}, /`cluster.redis` to be an ioredis client or ioredis options/],
    ['redis null', { redis: null }, /`cluster.redis`/],
    ['redis a number', { redis: 6379 }, /`cluster.redis`/],
    ['redis a Map', { redis: new Map() }, /`cluster.redis`/],
    ['an unknown key', { redis: {}, keyPrfix: 'x' }, /Unknown option `cluster.keyPrfix`; did you mean `cluster.keyPrefix`\?/],
    ['an empty prefix', { redis: {}, keyPrefix: '' }, /`cluster.keyPrefix` to be a string of 1 to 100 characters/],
    ['a prefix with a space', { redis: {}, keyPrefix: 'a b' }, /`cluster.keyPrefix`/],
    ['cluster not an object', 'redis://127.0.0.1', /`cluster`/],
  ])('refuses %s with WD_INVALID_OPTIONS', (_, cluster, message) => {
    const error = refusal({ cluster });
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.message).toMatch(message);
  });

  it('never echoes a connection string, which may hold a password', () => {
    const error = refusal({ cluster: { redis: 'redis://:hunter2-secret@127.0.0.1:6379' } });
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toMatch(/not a URL/);
  });

  it('says ioredis is missing when it must make a client from options', () => {
    const error = refusal({ cluster: { redis: { host: '127.0.0.1', port: 6379 } } });
    expect(error.code).toBe('WD_INVALID_OPTIONS');
    expect(error.message).toMatch(/optional peer dependency `ioredis`.*install it or pass a client/);
  });
});
