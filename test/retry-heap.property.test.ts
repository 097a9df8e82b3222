/** The retry heap hands retries back earliest first, whatever order they arrive in, and loses none. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryHeap } from '../src/core/retry-heap.js';

describe('retry heap', () => {
  it('pops in dueAt order across interleaved pushes and pops, and drains whatever is left', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.constant(-1)), { maxLength: 200 }), (ops) => {
        const heap = new RetryHeap<{ dueAt: number }>();
        const model: number[] = [];
        for (const op of ops) {
          if (op >= 0) {
            heap.push({ dueAt: op });
            model.push(op);
          } else {
            model.sort((a, b) => a - b);
            expect(heap.pop()?.dueAt).toBe(model.shift());
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peek()?.dueAt).toBe(model.length === 0 ? undefined : Math.min(...model));
        }
        expect(heap.drain().map((m) => m.dueAt).sort((a, b) => a - b)).toEqual(model.sort((a, b) => a - b));
        expect(heap.size).toBe(0);
      }),
    );
  });

  it('is empty before its first push: size 0, nothing to peek, pop or drain', () => {
    const heap = new RetryHeap<{ dueAt: number }>();
    expect([heap.size, heap.peek(), heap.pop(), heap.drain()]).toEqual([0, undefined, undefined, []]);
  });
});
