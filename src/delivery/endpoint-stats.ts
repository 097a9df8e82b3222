import type { EndpointTurns } from './endpoint-turns.js';
import type { EndpointHold, HostStats } from '../model/types.js';

/** At most this many held endpoints are named in `stats()`: enough to see who, small enough to show. */
const MAX_HELD = 5;

/**
 * A host's endpoint figures for `stats()`: how many endpoints have state, which are held on
 * their own (an open breaker of theirs, or waiting for their permit) and which holds the most
 * room. One pass over the endpoints with state, when asked: nothing on the send path.
 */
export function endpointStats(turns: EndpointTurns, capacity: number, now: number): Pick<HostStats, 'endpoints' | 'held' | 'endpointsHeld' | 'busiest'> {
  const held: EndpointHold[] = [];
  let endpointsHeld = 0;
  let busiest: HostStats['busiest'];
  for (const lane of turns.lanes()) {
    if (lane.held > (busiest?.queued ?? 0)) busiest = { url: lane.url, queued: lane.held, share: lane.held / capacity };
    if (lane.held === 0) continue;
    const why = lane.parked ? lane.why : (lane.breaker?.reopensAt ?? 0) > now ? 'breaker' : undefined;
    if (why === undefined) continue;
    endpointsHeld++;
    if (held.length < MAX_HELD) held.push({ url: lane.url, why, queued: lane.held });
  }
  const figures = { endpoints: turns.size, held, endpointsHeld };
  return busiest === undefined ? figures : { ...figures, busiest };
}
