import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrontQueue } from '../src/delivery/front-queue.js';

describe('FrontQueue', () => {
  it('behaves as an array under any mix of push, unshift, shift and removeWhere', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), value: fc.integer({ min: 0, max: 99 }) }),
      fc.record({ kind: fc.constant('unshift' as const), value: fc.integer({ min: 0, max: 99 }) }),
      fc.record({ kind: fc.constant('shift' as const), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('removeOdd' as const), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const q = new FrontQueue<number>();
        const model: number[] = [];
        for (const { kind, value } of ops) {
          if (kind === 'push') (q.push(value), model.push(value));
          else if (kind === 'unshift') (q.unshift(value), model.unshift(value));
          else if (kind === 'shift') expect(q.shift()).toBe(model.shift());
          else {
            expect(q.removeWhere((n) => n % 2 === 1)).toEqual(model.filter((n) => n % 2 === 1));
            model.splice(0, model.length, ...model.filter((n) => n % 2 === 0));
          }
          expect(q.length).toBe(model.length);
          expect(q.peek()).toBe(model[0]);
        }
        expect(q.drain()).toEqual(model);
        expect(q.length).toBe(0);
      }),
    );
  });
});
