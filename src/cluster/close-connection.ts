import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';

/**
 * Closes one of the dispatcher's own Redis connections, whatever state it is in, within
 * `boundMs`. `quit()` alone is not enough: on a connection that is not up it waits in the
 * offline queue for a connection that may never come (Redis unreachable from the start), and
 * `close()` would never resolve. A connection that is not ready is cut at once (which also
 * stops ioredis's reconnect timer); a ready one is asked to quit, and cut if it does not
 * answer in time.
 */
export async function closeConnection(client: Redis, clock: Clock, boundMs: number): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    let timer: { cancel(): void } | undefined;
    const late = new Promise<void>((resolve) => (timer = clock.setTimer(resolve, boundMs, true)));
    await Promise.race([client.quit().then(() => undefined, () => undefined), late]);
    timer?.cancel();
  }
  // `quit()` may have ended it meanwhile: the type narrowing above does not know.
  if ((client.status as string) === 'end') return;
  client.disconnect();
  // ioredis arms a timer (its `disconnectTimeout`, 0 on our connections) to destroy the socket:
  // one turn of the timers phase later it has fired, and nothing of this connection is left.
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
}
