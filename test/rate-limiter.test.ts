import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketShape } from '../src/limits/rate-limiter.js';
import { TokenBucket } from '../src/limits/token-bucket.js';

describe('token bucket shape', () => {
  // Below 1/s a one-second window can hold a full bucket and one refill: burst + 1.
  it('refills exactly perSecond per second and never allows more than perSecond + burst in one second', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 100_000, noNaN: true }), fc.double({ min: 0, max: 100_000, noNaN: true }), (perSecond, burstIn) => {
        const shape = bucketShape({ perSecond, burst: burstIn });
        expect(Number.isInteger(shape.amount) && shape.amount >= 1).toBe(true);
        expect(shape.capacity).toBeGreaterThanOrEqual(shape.amount);
        expect((shape.amount * 1000) / shape.intervalMs).toBeCloseTo(perSecond, 6);
        // Refills are at least intervalMs apart, so one second holds at most 1000/intervalMs of them,
        // on top of a full bucket. A burst below one refill is raised to one refill.
        const effectiveBurst = Math.max(burstIn, shape.amount);
        const refills = 1000 / shape.intervalMs;
        const worstSecond = shape.capacity + Math.ceil(refills - 1e-9) * shape.amount;
        // Exact when a second holds a whole number of refills (every integer rate with the default
        // burst); otherwise one more refill can land inside a window.
        const slack = Math.abs(refills - Math.round(refills)) < 1e-9 ? 0 : shape.amount;
        expect(worstSecond).toBeLessThanOrEqual(perSecond + effectiveBurst + slack + 1e-6);
      }),
    );
  });

  it('is exact for rates under 10/s and multiples of 10/s with the default burst', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 10_000 }).map((n) => n * 10)), (perSecond) => {
        const burst = Math.max(1, perSecond / 10);
        const shape = bucketShape({ perSecond, burst });
        const worstSecond = shape.capacity + Math.ceil(1000 / shape.intervalMs - 1e-9) * shape.amount;
        expect(worstSecond).toBeLessThanOrEqual(perSecond + burst + 1e-6);
      }),
    );
  });

  it('a batch is at most one refill', () => {
    expect(bucketShape({ perSecond: 5_000, burst: 500 })).toMatchObject({ amount: 500, intervalMs: 100 });
    expect(bucketShape({ perSecond: 1, burst: 1 })).toMatchObject({ amount: 1, intervalMs: 1_000 });
    expect(bucketShape({ perSecond: 10_000, burst: 0 })).toMatchObject({ amount: 200, intervalMs: 20 });
  });
});

describe('local token bucket', () => {
  it('never lets more than capacity + perSecond·w/1000 through in any window of w ms, and is never stingier than the rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 400 }),
        (perSecond, capacity, gaps) => {
          const bucket = new TokenBucket(perSecond, capacity, 0);
          const taken: number[] = [];
          let now = 0;
          while (bucket.tryTake(now)) taken.push(now);
          for (const gap of gaps) {
            now += gap;
            // Take as many as allowed at this instant, as a backlogged host would.
            while (bucket.tryTake(now)) taken.push(now);
            expect(bucket.nextAt(now)).toBeGreaterThan(now);
          }
          for (const w of [100, 1_000]) {
            for (let i = 0, j = 0; i < taken.length; i++) {
              while (taken[i]! - taken[j]! >= w) j++;
              expect(i - j + 1).toBeLessThanOrEqual(capacity + (perSecond * w) / 1000 + 1e-9);
            }
          }
          // Backlogged throughout, it hands out everything the rate earned (when no gap is long
          // enough to overflow the bucket and waste tokens).
          if (capacity >= (perSecond * 50) / 1000 + 1) expect(taken.length).toBeGreaterThanOrEqual(Math.floor(capacity + (perSecond * now) / 1000) - 1);
        },
      ),
    );
  });
});
