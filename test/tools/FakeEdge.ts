import type { ControlledEdge, ControlledEdgeInfo } from '../../edge/control/startEdgeControl.js';
import type { EdgeEvents } from '../../edge/Edge.js';
import type { GameInfo } from '../../protocol/playerApi.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { TEST_SESSION_KEYS } from './testDeployment.js';

/** A catalogue entry for a game only fake edges run. */
export const PONG: GameInfo = {
  id: 'pong',
  title: 'Pong',
  description: 'Two paddles and a ball (a stand-in game for control-plane tests).',
  width: 1280,
  height: 720,
  fps: 60,
  pricePerMinute: '1000',
  input: ['keyboard'],
};

/** What a FakeEdge reports; everything has a default. */
export interface FakeEdgeOptions {
  id: string;
  url: string;
  region?: string;
  lat?: number;
  lon?: number;
  capacity?: number;
  games?: GameInfo[];
  /** The matchmaker key it pins (default: the test matchmakers' `TEST_SESSION_KEYS`). */
  sessionPublicKey?: string;
}

/**
 * An edge for control-plane tests (no media): reports real game info and load it is told, emits the
 * session events tests fire, and records the sessions edge/control asks it to end.
 */
export class FakeEdge extends TypedEmitter<EdgeEvents> implements ControlledEdge {
  readonly id: string;
  readonly url: string;
  readonly sessionPublicKey: string;
  /** Sessions running (tests set it). */
  active = 0;
  /** Sessions edge/control ended, in order. */
  readonly ended: string[] = [];
  readonly #options: FakeEdgeOptions;

  constructor(options: FakeEdgeOptions) {
    super();
    this.id = options.id;
    this.url = options.url;
    this.sessionPublicKey = options.sessionPublicKey ?? TEST_SESSION_KEYS.publicKey;
    this.#options = options;
  }

  info(): ControlledEdgeInfo {
    const capacity = this.#options.capacity ?? 2;
    return {
      region: this.#options.region ?? 'eu-west',
      lat: this.#options.lat ?? 48.85,
      lon: this.#options.lon ?? 2.35,
      gpu: 'none (fake edge)',
      pricePerMinute: '1000',
      encoders: ['libx264'],
      capacity,
      activeSessions: this.active,
      freeSlots: Math.max(0, capacity - this.active),
      encodeHeadroom: 1,
      games: this.#options.games ?? [PONG],
    };
  }

  /** Sessions the fake runs (tests set them). */
  running: string[] = [];

  sessionIds(): string[] {
    return [...this.running];
  }

  endSession(sessionId: string): void {
    this.ended.push(sessionId);
  }
}
