import type { RedisConnection } from '@flow-dispatcher/shared';

/**
 * What one worker tells the others on the fleet's limits channel (`keys.permitsReleased`):
 *
 *   release          a permit went back: waiters may ask again
 *   pause{until}     every call of the org waits until `until` (epoch ms): known at once, before
 *                    the next acquire would read it in Redis
 *   limit{value}     the adaptive concurrency limit was lowered to `value`
 *
 * Announcements only speed things up: Redis holds the state (permits, pause, limit) and every
 * worker re-reads it, so a missed message costs a short wait, never a wrong grant.
 */
export type FleetAnnouncement =
  | { kind: 'release' }
  | { kind: 'pause'; until: number }
  | { kind: 'limit'; value: number };

/**
 * The wire form: `1`, `pause:<until>`, `limit:<value>`, the strings every version of the worker
 * has sent, so that workers of two versions in one fleet understand each other during a rollout.
 */
export function encodeAnnouncement(announcement: FleetAnnouncement): string {
  switch (announcement.kind) {
    case 'release':
      return '1';
    case 'pause':
      return `pause:${announcement.until}`;
    case 'limit':
      return `limit:${announcement.value}`;
  }
}

/**
 * Reads a message of the channel. Anything else, or a pause or limit whose figure is not a
 * usable number, reads as a release: asking Redis again is always safe, and a newer worker's
 * message must not be lost on an older one.
 */
export function decodeAnnouncement(message: string): FleetAnnouncement {
  const colon = message.indexOf(':');
  const kind = colon < 0 ? message : message.slice(0, colon);
  const figure =
    colon < 0 || colon === message.length - 1 ? Number.NaN : Number(message.slice(colon + 1));
  if (kind === 'pause' && Number.isFinite(figure) && figure > 0) return { kind, until: figure };
  if (kind === 'limit' && Number.isFinite(figure) && figure >= 1) return { kind, value: figure };
  return { kind: 'release' };
}

/**
 * The channel itself: publishes on the shared connection, listens on a connection of its own
 * (a subscribed connection can do nothing else).
 */
export class FleetAnnouncements {
  #subscriber: RedisConnection | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly channel: string,
  ) {}

  /** Subscribes; `onAnnouncement` gets every message of the channel, this worker's included. */
  async listen(onAnnouncement: (announcement: FleetAnnouncement) => void): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.#subscriber = subscriber;
    // Its reconnections are ioredis's business; a message missed meanwhile costs a short wait.
    subscriber.on('error', () => {});
    subscriber.on('message', (_channel: string, message: string) =>
      onAnnouncement(decodeAnnouncement(message)),
    );
    await subscriber.subscribe(this.channel);
  }

  async publish(announcement: FleetAnnouncement): Promise<void> {
    await this.redis.publish(this.channel, encodeAnnouncement(announcement));
  }

  close(): void {
    this.#subscriber?.disconnect();
  }
}
