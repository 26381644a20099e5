import type { BaseLogger } from 'pino';
import type { SessionEvent } from '../protocol/playerApi.js';
import type { Allocator } from './Allocator.js';
import type { EdgeRegistry } from './EdgeRegistry.js';
import type { MatchmakerMetrics } from './metrics.js';
import type { MatchmakerStore, PlayerContext, SessionRecord } from './store/MatchmakerStore.js';

export interface FailoverOptions {
  store: MatchmakerStore;
  registry: EdgeRegistry;
  allocator: Allocator;
  metrics: MatchmakerMetrics;
  logger: BaseLogger;
}

/** Moves the players of dead edges: each gets a `moved` event with a new session, or `ended` if no edge has room. */
export class Failover {
  readonly #store: MatchmakerStore;
  readonly #registry: EdgeRegistry;
  readonly #allocator: Allocator;
  readonly #metrics: MatchmakerMetrics;
  readonly #log: BaseLogger;
  #reaping = false;

  constructor(options: FailoverOptions) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#allocator = options.allocator;
    this.#metrics = options.metrics;
    this.#log = options.logger;
  }

  /** Drops edges whose heartbeats stopped and moves their players; returns how many edges died. */
  async reap(): Promise<number> {
    if (this.#reaping) return 0;
    this.#reaping = true;
    try {
      const dead = await this.#registry.reapDead();
      const moves: Promise<void>[] = [];
      for (const d of dead) {
        this.#log.warn({ edgeId: d.edgeId, sessions: d.sessions.length }, 'edge lost; moving its players');
        for (const s of d.sessions) moves.push(this.move(s, 'edge-lost'));
      }
      await Promise.all(moves);
      return dead.length;
    } finally {
      this.#reaping = false;
    }
  }

  /**
   * Moves the player of `old` (already released) to the best other edge: a `moved` event with the new
   * session, or `ended` if no edge has room; `reason` names why (edge-lost, edge-shutdown).
   */
  async move(old: SessionRecord, reason: string): Promise<void> {
    let event: SessionEvent;
    try {
      const player: PlayerContext = {
        ...old.player,
        measurements: old.player.measurements.filter((m) => m.edgeId.toLowerCase() !== old.edgeId),
      };
      // The new session keeps the old one's key: the same player proves it owns both.
      const session = await this.#allocator.allocate(old.gameId, player, old.owner, old.edgeId);
      event = { type: 'moved', session, reason };
      this.#metrics.failovers.inc({ result: 'moved' });
    } catch (error) {
      this.#log.warn({ err: error, sessionId: old.sessionId }, 'no edge to move the session to');
      event = { type: 'ended', reason };
      this.#metrics.failovers.inc({ result: 'ended' });
    }
    await this.#store.publish({ sessionId: old.sessionId, event });
  }
}
