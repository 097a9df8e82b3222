import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/delivery/circuit-breaker.js';
import type { BreakerState } from '../src/model/types.js';

const THRESHOLD = 3;
const COOLDOWN = 1_000;
/** The breaker's jitter draw is pinned, so the model knows the cooldown exactly: 1000 · (1 + 0.2 · 0.5). */
const COOLED = 1_100;

interface Model {
  now: number;
  state: BreakerState;
  failures: number;
  until: number;
  probing: boolean;
  generation: number;
  tickets: number[];
  changes: BreakerState[];
}

interface Real {
  breaker: CircuitBreaker;
  tickets: number[];
  changes: BreakerState[];
  now: number;
}

function enter(m: Model, state: BreakerState): void {
  m.state = state;
  m.generation++;
  m.changes.push(state);
}

class Advance implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.now += this.ms;
    r.now += this.ms;
  }
  toString = () => `advance(${this.ms})`;
}

class Pass implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    let expected: number | undefined;
    if (m.state === 'closed') expected = m.generation;
    else if (m.state === 'open' && m.now >= m.until) {
      enter(m, 'half-open');
      m.probing = true;
      expected = m.generation;
    } else if (m.state === 'half-open' && !m.probing) {
      m.probing = true;
      expected = m.generation;
    }
    expect(r.breaker.canPass(r.now)).toBe(expected !== undefined);
    const ticket = r.breaker.tryPass(r.now);
    expect(ticket).toBe(expected);
    if (ticket !== undefined) {
      m.tickets.push(ticket);
      r.tickets.push(ticket);
    }
  }
  toString = () => 'pass';
}

class Report implements fc.Command<Model, Real> {
  constructor(readonly pick: number, readonly ok: boolean) {}
  check = (m: Readonly<Model>) => m.tickets.length > 0;
  run(m: Model, r: Real): void {
    const i = this.pick % m.tickets.length;
    const ticket = m.tickets.splice(i, 1)[0]!;
    r.tickets.splice(i, 1);
    let changed = false;
    if (ticket === m.generation) {
      if (this.ok) {
        if (m.state === 'closed') m.failures = 0;
        else if (m.state === 'half-open') {
          enter(m, 'closed');
          m.failures = 0;
          changed = true;
        }
      } else if (m.state === 'closed' && ++m.failures >= THRESHOLD) {
        enter(m, 'open');
        m.until = m.now + COOLED;
        changed = true;
      } else if (m.state === 'half-open') {
        enter(m, 'open');
        m.until = m.now + COOLED;
        changed = true;
      }
    }
    const result = this.ok ? r.breaker.success(ticket) : r.breaker.failure(ticket, r.now);
    expect(result).toBe(changed);
    expect(r.breaker.state).toBe(m.state);
    expect(r.breaker.reopensAt).toBe(m.state === 'open' ? m.until : undefined);
    expect(r.changes).toEqual(m.changes);
  }
  toString = () => `${this.ok ? 'success' : 'failure'}(#${this.pick})`;
}

describe('circuit breaker', () => {
  it('behaves like its model for any sequence of passes, answers (late ones included) and clock moves', () => {
    const commands = [
      fc.integer({ min: 1, max: 1_500 }).map((ms) => new Advance(ms)),
      fc.constant(new Pass()),
      fc.tuple(fc.nat(20), fc.boolean()).map(([pick, ok]) => new Report(pick, ok)),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 200 }), (cmds) => {
        const changes: BreakerState[] = [];
        const real: Real = {
          breaker: new CircuitBreaker({ failureThreshold: THRESHOLD, cooldownMs: COOLDOWN }, (s) => changes.push(s), () => 0.5),
          tickets: [],
          changes,
          now: 0,
        };
        const model: Model = { now: 0, state: 'closed', failures: 0, until: 0, probing: false, generation: 0, tickets: [], changes: [] };
        fc.modelRun(() => ({ model, real }), cmds);
      }),
      { numRuns: 300 },
    );
  });

  it('ignores a failure that arrives after the breaker opened and closed again', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10 }, undefined, () => 0);
    const slow = b.tryPass(0)!;
    const fast = b.tryPass(0)!;
    expect(b.failure(fast, 0)).toBe(true);
    const probe = b.tryPass(10)!;
    expect(b.success(probe)).toBe(true);
    expect(b.failure(slow, 11)).toBe(false);
    expect(b.state).toBe('closed');
  });

  it('lets exactly one probe through while half-open', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10 }, undefined, () => 0);
    b.failure(b.tryPass(0)!, 0);
    expect(b.tryPass(9)).toBeUndefined();
    expect(b.tryPass(10)).toBeDefined();
    expect(b.state).toBe('half-open');
    expect(b.tryPass(10)).toBeUndefined();
  });
});
