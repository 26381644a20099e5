import type { SessionData } from './store/MatchmakerStore.js';

/**
 * What this instance allocated lately (session id → its data), so a heartbeat that names a session the
 * store lost (Redis restarted empty) can re-create it whole: game, owner key, player context. Bounded: the
 * oldest entries go first. A session no instance remembers is re-created with what the edge said (its id).
 * Each is kept as its JSON (one flat string instead of ~10 small objects: at thousands of allocations a second the
 * 100,000 remembered sessions were a large share of what the garbage collector copied and marked); read back
 * only when a session must be re-created.
 */
export class RecentSessions {
  readonly #max: number;
  readonly #sessions = new Map<string, string>();
  /** Those of `#sessions` remembered without an owner (a heartbeat's token owner may fill it in). */
  readonly #ownerless = new Set<string>();
  /** Sessions that ended here lately: a heartbeat signed before the end must not bring them back. */
  readonly #ended = new Set<string>();

  /** `max`: how many sessions are remembered (default 100,000). */
  constructor(max = 100_000) {
    this.#max = max;
  }

  remember(session: SessionData): void {
    this.#sessions.delete(session.sessionId);
    this.#sessions.set(session.sessionId, JSON.stringify(session));
    if (session.owner === undefined) this.#ownerless.add(session.sessionId);
    else this.#ownerless.delete(session.sessionId);
    if (this.#sessions.size > this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#forget(oldest);
    }
  }

  /** The session ended: forgets its data and remembers (bounded) that it ended. */
  ended(sessionId: string): void {
    this.#forget(sessionId);
    this.#ended.add(sessionId);
    if (this.#ended.size > this.#max) {
      const oldest = this.#ended.values().next().value;
      if (oldest !== undefined) this.#ended.delete(oldest);
    }
  }

  /**
   * The JSON of `sessionId`'s data as a heartbeat's reconciliation sends it: the remembered one (as stored, not
   * parsed — it is read only if the session must be re-created), with `owner` (from the session's token) when
   * none was remembered; else the least that can stand for it (no game); undefined if it ended here lately.
   */
  runningJson(sessionId: string, owner: string | undefined): string | undefined {
    if (this.#ended.has(sessionId)) return undefined;
    const json = this.#sessions.get(sessionId);
    if (json !== undefined && !(owner && this.#ownerless.has(sessionId))) return json;
    const data: SessionData =
      json !== undefined
        ? (JSON.parse(json) as SessionData)
        : { sessionId, gameId: '', player: { measurements: [] } };
    if (owner) data.owner = owner;
    return JSON.stringify(data);
  }

  #forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
    this.#ownerless.delete(sessionId);
  }
}
