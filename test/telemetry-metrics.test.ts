/**
 * The instruments' holding of attempt durations, against a meter that records every call:
 * durations reach the histogram in runs (never more than 256 held, so a run is short) and
 * every one exactly once, with its own attributes.
 */
import type * as Api from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { Instruments } from '../src/telemetry/metrics.js';

/** A meter whose instruments log their calls. */
function recordingMeter(): { meter: Api.Meter; records: [number, Api.Attributes | undefined][] } {
  const records: [number, Api.Attributes | undefined][] = [];
  const instrument = { add: () => undefined, record: (v: number, attrs?: Api.Attributes) => void records.push([v, attrs]) };
  const meter = {
    createCounter: () => instrument,
    createHistogram: () => instrument,
    createObservableGauge: () => ({}),
    addBatchObservableCallback: () => undefined,
    removeBatchObservableCallback: () => undefined,
  } as unknown as Api.Meter;
  return { meter, records };
}

describe('attempt durations', () => {
  it('are recorded in a run once 256 are held, each once with its attributes', () => {
    const { meter, records } = recordingMeter();
    const instruments = Instruments.of(meter);
    const ok = { 'http.response.status_code': 200 };
    const gone = { 'http.response.status_code': 410 };
    for (let i = 0; i < 255; i++) instruments.attemptDuration(i, i % 5 === 0 ? gone : ok);
    expect(records).toHaveLength(0);
    instruments.attemptDuration(255, ok);
    expect(records).toHaveLength(256);
    const expected = Array.from({ length: 256 }, (_, i) => [i, i % 5 === 0 && i < 255 ? gone : ok] as const);
    const byValue = [...records].sort((a, b) => a[0] - b[0]);
    expect(byValue).toEqual(expected);
    // Held again from zero: the next run starts empty.
    instruments.attemptDuration(1000, ok);
    expect(records).toHaveLength(256);
    instruments.flush();
    expect(records.at(-1)).toEqual([1000, ok]);
    expect(records).toHaveLength(257);
    instruments.flush();
    expect(records).toHaveLength(257);
  });
});
