import type { EndpointTurns } from './endpoint-turns.js';
import type { EndpointHold, HostStats } from '../model/types.js';

/** At most this many held endpoints are named in `stats()`: enough to see who, small enough to show. */
const MAX_HELD = 5;

/**
 * A host's endpoint figures for `stats()`: how many endpoints have state, which are held on
 * their own (an open breaker of theirs, or waiting for their permit) and which holds the most
 * room. One pass over the endpoints with state, when asked: nothing on the send path.
 */
export function endpointStats(turns: EndpointTurns, capacity: number, now: number): Pick<HostStats, 'endpoints' | 'held' | 'busiest'> {
  const held: EndpointHold[] = [];
  let busiest: HostStats['busiest'];
  for (const lane of turns.lanes()) {
    if (lane.held > (busiest?.queued ?? 0)) busiest = { url: lane.url, queued: lane.held, share: lane.held / capacity };
    if (held.length >= MAX_HELD || lane.held === 0) continue;
    const why = lane.parked ? lane.why : (lane.breaker?.reopensAt ?? 0) > now ? 'breaker' : undefined;
    if (why !== undefined) held.push({ url: lane.url, why, queued: lane.held });
  }
  return busiest === undefined ? { endpoints: turns.size, held } : { endpoints: turns.size, held, busiest };
}
