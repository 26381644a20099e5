import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { NativeGameCatalog } from '../../edge/native/NativeGameCatalog.js';
import { PackageCache } from '../../edge/packages/PackageCache.js';
import { buildApp } from '../../matchmaker/buildApp.js';
import { deploymentOf } from '../../protocol/deployment.js';
import { keyCodeToId } from '../../protocol/input.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { buildNativeGamePackage, nativeToolsMissing } from '../support/nativeGame.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { playerKey } from './matchmaker-support.js';

const missing = nativeToolsMissing();
const auth = { authorization: 'Bearer acme-key', 'content-type': 'application/json' };

/** Mean x (0..1) of the red square in a decoded luma plane (luma between the background and the bar). */
function squareX(luma: Uint8Array, stride: number, width: number, height: number): number | null {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      const v = luma[y * stride + x] ?? 0;
      if (v > 85 && v < 140) {
        sum += x;
        n++;
      }
    }
  }
  return n > 30 ? sum / n / width : null;
}

// A studio publishes a real X11 game through the matchmaker; an edge that advertises the x11 runtime gets
// the session, fetches and verifies the package, runs it sandboxed and streams it to a werift player.
describe.skipIf(missing.length > 0)('native games end to end: studio → matchmaker → edge → player', () => {
  let app: Awaited<ReturnType<typeof buildApp>>;
  let mmUrl: string;
  let server: EdgeServer;
  let control: EdgeControl;
  let catalog: NativeGameCatalog;
  let gameDir: string;
  let sha256: string;
  const dirs: string[] = [];

  /** Publishes a version of game `id` (the test game at `width`×`height`) and returns its number. */
  async function publish(id: string, command: string, width = 640, height = 360): Promise<number> {
    const res = await fetch(`${mmUrl}/v1/studio/games`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        id,
        title: `Square (${id})`,
        description: 'A small X11 test game',
        width,
        height,
        fps: 30,
        pricePerMinute: '0',
        input: ['keyboard', 'mouse'],
        runtime: 'package',
        command,
        packageSha256: sha256,
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { version: number }).version;
  }

  beforeAll(async () => {
    app = await buildApp({
      config: { logLevel: 'silent', studioApiKeys: 'acme=acme-key', edgeTtlMs: 5000, refreshMs: 100 },
    });
    mmUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    gameDir = buildNativeGamePackage();
    const archive = execFileSync('tar', ['-cz', '-f', '-', '-C', gameDir, 'game']);
    const up = await fetch(`${mmUrl}/v1/studio/packages`, {
      method: 'PUT',
      headers: { authorization: 'Bearer acme-key', 'content-type': 'application/octet-stream' },
      body: archive,
    });
    ({ sha256 } = (await up.json()) as { sha256: string });
    await publish('square', './game --fps 30');
    await publish('crashy', './game --fps 30 --crash-after-frames 60');

    const key = generatePrivateKey();
    const tmp = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'farplay-native-e2e-'));
      dirs.push(d);
      return d;
    };
    catalog = new NativeGameCatalog({
      matchmakerUrl: mmUrl,
      packages: new PackageCache({
        dir: tmp(),
        matchmakerUrl: mmUrl,
        auth: { account: privateKeyToAccount(key), deployment: deploymentOf(app.sessionPublicKey) },
      }),
      runtimeDir: tmp(),
    });
    server = await createEdge({
      config: parseEdgeConfig({
        port: 0,
        nodePrivateKey: key,
        matchmakerPublicKey: app.sessionPublicKey,
        iceAllowedAddresses: ['127.0.0.1'],
        allowPrivateCandidates: true, // players on loopback
        logLevel: 'silent',
        capacity: 2,
        connectTimeoutSeconds: 20,
      }),
      logger: pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' }),
      encoderProbe: await probeEncoders(),
      packageGames: catalog,
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    control = startEdgeControl({
      edge: server.edge,
      account: privateKeyToAccount(key),
      matchmakerUrl: mmUrl,
      heartbeatMs: 500,
    });
    await control.registered;
    await app.matchmaker.refresh();
  }, 120_000);

  afterAll(async () => {
    await control?.close();
    await server?.close();
    // Sessions end at once; their games finish closing (process group, display, audio) here.
    await catalog?.close();
    expect(catalog.liveGames).toBe(0);
    await app?.close();
    rmSync(gameDir, { recursive: true, force: true });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function session(gameId: string): Promise<CreateSessionResponse> {
    const res = await fetch(`${mmUrl}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ gameId, measurements: [], sessionKey: playerKey() }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as CreateSessionResponse;
  }

  it('streams the published game: frames arrive and change, a key press moves the square, sound arrives, stamps only on request', async () => {
    const s = await session('square');
    let x: number | null = null;
    let decoded = 0;
    const player = new NodePlayer({
      signalUrl: s.edge.signalUrl,
      token: s.token,
      decode: true,
      stamps: false,
      onDecodedFrame: (luma, stride, width, height) => {
        decoded++;
        x = squareX(luma, stride, width, height);
      },
    });
    try {
      await player.inputOpen;
      await until(() => decoded > 10 && x !== null, 'decoded frames with the square');
      const before = x as unknown as number;
      for (let i = 0; i < 6; i++) {
        player.sendInput({ type: 'keyDown', key: keyCodeToId('ArrowRight') });
        player.sendInput({ type: 'keyUp', key: keyCodeToId('ArrowRight') });
      }
      await until(() => (x ?? 0) > before + 0.1, 'the square to move right in the stream');
      await until(() => player.audioPackets > 20, 'audio packets');
      // Not asked for: no captured frame carried the time-code strip; asked for, they do.
      expect(player.stamps).toEqual([]);
      player.sendSignal({ type: 'stamps', on: true });
      await until(() => player.stamps.length >= 5, 'stamped frames once asked for');
    } finally {
      await player.close();
    }
  });

  it('a new version or a pin applies from the next session (the token names the version the edge fetches)', async () => {
    /** Plays one session of `versioned` until frames arrive; returns the picture width it runs at. */
    const play = async (): Promise<number | undefined> => {
      const s = await session('versioned');
      const player = new NodePlayer({ signalUrl: s.edge.signalUrl, token: s.token });
      try {
        await until(() => player.framesReceived > 3, 'frames of the versioned game');
        return player.session?.width;
      } finally {
        await player.close();
      }
    };
    expect(await publish('versioned', './game --fps 30', 640, 360)).toBe(1);
    expect(await play()).toBe(640);
    // v2 is another picture size; published and pinned, the very next session runs it (the edge
    // cached v1's manifest a moment ago).
    expect(await publish('versioned', './game --fps 30', 480, 272)).toBe(2);
    const pin = async (version: number): Promise<void> => {
      const res = await fetch(`${mmUrl}/v1/studio/games/versioned/pin`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ version }),
      });
      expect(res.status, await res.text()).toBe(200);
    };
    await pin(2);
    expect(await play()).toBe(480);
    // Pinned back to v1: the next session is v1 again.
    await pin(1);
    expect(await play()).toBe(640);
  });

  it('ends the session with EDGE_GAME_CRASHED when the game crashes', async () => {
    const s = await session('crashy');
    const player = new NodePlayer({ signalUrl: s.edge.signalUrl, token: s.token });
    try {
      const closed = await player.closed;
      const error = player.messages.find((m) => m.type === 'error' || m.type === 'ended') as
        | { code?: string }
        | undefined;
      expect(JSON.stringify(player.messages)).toContain('EDGE_GAME_CRASHED');
      expect(closed.code).toBeGreaterThan(0);
      expect(error).toBeDefined();
    } finally {
      await player.close();
    }
  });
});

async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
