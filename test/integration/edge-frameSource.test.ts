import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { Edge } from '../../edge/Edge.js';
import type { GameDefinition, GameExit, GameRuntime } from '../../edge/games/GameRuntime.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import type { FrameSink, PushFrameSource } from '../../edge/media/FrameSource.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { SignalCloseCodes } from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { eventually } from './edge-support.js';

/**
 * A stand-in for a captured native game: an "outside process" that pushes frames on its own timer (not
 * on the edge's clock) and can crash.
 */
class CapturedGame implements GameRuntime {
  readonly frames: PushFrameSource;
  readonly #exits = new TypedEmitter<{ exit: [GameExit] }>();
  #timer: NodeJS.Timeout | undefined;
  #sink: FrameSink | undefined;
  pushed = 0;
  attached = false;
  closed = false;

  constructor() {
    this.frames = {
      delivery: 'push',
      attach: (sink) => {
        this.attached = true;
        this.#sink = sink;
        this.#timer = setInterval(() => {
          this.pushed++;
          this.#sink?.pushFrame({ draw: (target) => target.y.fill(60 + (this.pushed % 100)) });
        }, 33);
      },
      detach: () => {
        this.attached = false;
        this.#sink = undefined;
        clearInterval(this.#timer);
      },
      mixAudio: (out) => out.fill(0),
      resize: () => {},
    };
  }

  input(): void {}

  onExit(listener: (exit: GameExit) => void): () => void {
    return this.#exits.on('exit', listener);
  }

  crash(): void {
    this.#exits.emit('exit', { code: null, reason: 'killed by SIGSEGV', crashed: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.#timer);
  }
}

let server: EdgeServer;
let edge: Edge;
const running: CapturedGame[] = [];
const captured: GameDefinition = {
  info: {
    id: 'captured',
    title: 'Captured game',
    description: 'A native game whose frames are captured by an outside process.',
    width: 640,
    height: 360,
    fps: 30,
    pricePerMinute: '0',
    input: ['keyboard'],
  },
  create: async () => {
    const game = new CapturedGame();
    running.push(game);
    return game;
  },
};

beforeAll(async () => {
  server = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      iceAllowedAddresses: ['127.0.0.1'],
      allowPrivateCandidates: true,
      logLevel: 'silent',
      capacity: 2,
    }),
    logger: pino({ level: 'silent' }),
    encoderProbe: await probeEncoders(),
    games: [captured],
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  edge = server.edge;
});

afterAll(async () => {
  await server?.close();
});

describe('a game that pushes its frames (the captured native game seam)', () => {
  it('streams the frames it pushes, and a crash ends the session with EDGE_GAME_CRASHED', async () => {
    const session = edge.createSession('captured');
    const player = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token, decode: true });
    try {
      await player.waitFor(() => player.stamps.length > 10, 20_000, 'decoded pushed frames');
      const game = running.at(-1) as CapturedGame;
      expect(game.attached).toBe(true);
      expect(player.session).toMatchObject({ gameId: 'captured', width: 640, height: 360 });
      const frames = player.stamps.map((stamp) => stamp.frame);
      for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThan(frames[i - 1] ?? -1);
      game.crash();
      const { code } = await player.closed;
      expect(code).toBe(SignalCloseCodes.INTERNAL);
      expect(player.messages).toContainEqual(
        expect.objectContaining({ type: 'error', code: 'EDGE_GAME_CRASHED' }),
      );
      await eventually(() => edge.info().activeSessions === 0, 5_000, 'slot freed');
      // The session detached from the source and closed the game: nothing is pushed into a dead pipeline.
      expect(game.attached).toBe(false);
      expect(game.closed).toBe(true);
    } finally {
      await player.close();
    }
  });
});
