import type { KeyObject } from 'node:crypto';
import { FarplayError } from '../protocol/errors.js';
import { mintSessionTokenAsync } from '../protocol/mintSessionToken.js';
import type { CreateSessionResponse } from '../protocol/playerApi.js';
import { SessionTokenSigner } from '../protocol/SessionTokenSigner.js';
import type { Billing } from './Billing.js';
import type { Catalogue } from './Catalogue.js';
import type { MatchmakerConfig } from './config.js';
import type { EdgeIndex } from './EdgeIndex.js';
import type { EdgeRegistry } from './EdgeRegistry.js';
import { newSessionId } from './newSessionId.js';
import type { RecentSessions } from './RecentSessions.js';
import { rankEdges } from './rankEdges.js';
import type {
  EdgeState,
  HoldLimit,
  MatchmakerStore,
  PlayerContext,
  SessionRecord,
} from './store/MatchmakerStore.js';

export interface AllocatorOptions {
  store: MatchmakerStore;
  config: Readonly<MatchmakerConfig>;
  registry: EdgeRegistry;
  catalogue: Catalogue;
  /** Ed25519 private key that signs session tokens. */
  sessionKey: KeyObject;
  /** This deployment's id, named in every session answer (session-key proofs sign it). */
  deployment: string;
  random: () => number;
  /** Assigns each session's checkers and billing (none = unbilled). */
  billing?: Billing;
  /** An edge's price per minute after its region's multiplier (ATH wei, decimal string). */
  priceOf?: (edgeId: string) => string;
  /** Remembers each session allocated (to re-create it if the store loses it). */
  recent: RecentSessions;
}

/** How many ranked edges one reservation attempt offers the store. */
const RESERVE_BATCH = 8;

/**
 * Puts a session on an edge: ranks the registry's index for the player, reserves a slot with the
 * store's atomic `reserve` (the store is the authority; this view only orders the candidates) and
 * signs the session token.
 */
export class Allocator {
  readonly #store: MatchmakerStore;
  readonly #config: Readonly<MatchmakerConfig>;
  readonly #registry: EdgeRegistry;
  readonly #catalogue: Catalogue;
  readonly #signer: SessionTokenSigner;
  readonly #deployment: string;
  readonly #random: () => number;
  readonly #billing: Billing | undefined;
  readonly #priceOf: (edgeId: string) => string;
  readonly #recent: RecentSessions;

  constructor(options: AllocatorOptions) {
    this.#store = options.store;
    this.#config = options.config;
    this.#registry = options.registry;
    this.#catalogue = options.catalogue;
    this.#signer = new SessionTokenSigner(options.sessionKey);
    this.#deployment = options.deployment;
    this.#random = options.random;
    this.#billing = options.billing;
    this.#priceOf = options.priceOf ?? (() => '0');
    this.#recent = options.recent;
  }

  /** Stops the token-signing worker. */
  close(): Promise<void> {
    return this.#signer.close();
  }

  /** Per view of `index`: 1 where an edge can run `gameId` (null = every edge); MM_UNKNOWN_GAME if none offers it. */
  gameMask(index: EdgeIndex, gameId: string): Uint8Array | null {
    const need = this.#catalogue.requirement(gameId, this.#registry.edges());
    return need === null ? null : index.gameMask(need);
  }

  /**
   * Reserves a slot on the best edge for the player (never on `exclude`); MM_NO_CAPACITY if none has one.
   * `holds`: the caps of unconnected reservations it counts against, checked in the same store step
   * (MM_RESERVATION_LIMIT over one, nothing reserved).
   */
  async allocate(
    gameId: string,
    player: PlayerContext,
    owner: string | undefined,
    exclude?: string,
    holds: HoldLimit[] = [],
  ): Promise<CreateSessionResponse> {
    const measured = new Map(player.measurements.map((m) => [m.edgeId.toLowerCase(), m.rttMs]));
    const sessionId = newSessionId();
    // Rank the best batch only; if the store finds them all full (our view was stale), they are marked
    // full below and the next ranking skips them.
    for (let attempt = 0; attempt < 4; attempt++) {
      const index = this.#registry.index;
      const ranked = rankEdges(index, {
        mask: this.gameMask(index, gameId),
        exclude,
        measured,
        player: player.coordinate,
        take: RESERVE_BATCH,
        random: this.#random,
      });
      if (ranked.length === 0) break;
      const batch = ranked.map((r) => r.state.edge.id);
      // The on-chain id comes from the best candidate's run (the store nearly always reserves there; on another
      // edge the id is as unique, its ledger word just not shared).
      const billingId = this.#billing?.billingIdFor(batch[0] as string, sessionId);
      const session = {
        sessionId,
        gameId,
        player,
        ...(owner ? { owner } : {}),
        ...(billingId ? { billingId } : {}),
      };
      const record = await this.#store.reserve({
        candidates: batch,
        session,
        reservationTtlMs: this.#config.reservationTtlMs,
        ...(holds.length > 0 ? { holds } : {}),
      });
      if (record && 'overLimit' in record) {
        throw new FarplayError(
          'MM_RESERVATION_LIMIT',
          record.overLimit.startsWith('key:')
            ? 'this session key already holds the most unconnected reservations allowed'
            : 'this client address already holds the most unconnected reservations allowed',
        );
      }
      if (record) {
        this.#recent.remember(session);
        this.#registry.index.adjustUsed(record.edgeId, +1);
        // The edge as ranked (a refresh may have swapped the index while the store answered).
        const state = ranked.find((r) => r.state.edge.id === record.edgeId)?.state;
        return this.#sessionResponse(record, state ?? this.#registry.index.get(record.edgeId));
      }
      // Our view was stale: those edges are full or gone. Mark them so the next requests skip them.
      for (const id of batch) {
        const state = this.#registry.index.get(id);
        if (state) this.#registry.index.setUsed(state, state.edge.capacity);
      }
    }
    throw new FarplayError('MM_NO_CAPACITY');
  }

  async #sessionResponse(
    record: SessionRecord,
    state: EdgeState | undefined,
  ): Promise<CreateSessionResponse> {
    if (!state) throw new FarplayError('INTERNAL', 'reserved an edge missing from the registry view');
    const billed = this.#billing?.assign(
      record.sessionId,
      record.edgeId,
      this.#priceOf(record.edgeId),
      record.billingId,
    );
    // A studio game's version is signed in: the edge runs the version the catalogue serves now.
    const gameVersion = this.#catalogue.manifest(record.gameId)?.version;
    // Signed on a worker thread, batched: the Ed25519 signature was the largest single cost of this thread.
    const answer = await mintSessionTokenAsync(
      {
        sessionId: record.sessionId,
        gameId: record.gameId,
        ...(gameVersion !== undefined ? { gameVersion } : {}),
        edge: { edgeId: record.edgeId, region: state.edge.region, url: state.edge.publicUrl },
        ttlSeconds: this.#config.tokenTtlS,
        owner: record.owner,
        ...(billed ? { checkers: billed.checkers, billingId: billed.billing.sessionId } : {}),
      },
      this.#signer,
    );
    return { ...answer, deployment: this.#deployment, ...(billed ? { billing: billed.billing } : {}) };
  }
}
