// Part of scripts/compose-smoke.sh: waits until both compose edges are live at the matchmaker, allocates a
// session through it, streams for a few seconds to a werift receiver in Node and prints one JSON line.

import { localAccounts } from '../contracts-client/src/localChain.js';
import { StreamReceiver } from '../edge/operator/StreamReceiver.js';
import { SessionKey } from '../player/src/SessionKey.js';
import type { CreateSessionResponse, ListGamesResponse } from '../protocol/playerApi.js';

const matchmaker = process.argv[2] ?? 'http://127.0.0.1:18080';
const seconds = Number(process.argv[3] ?? 5);
const out = (line: string) => process.stdout.write(`${line}\n`);

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${matchmaker}${path}`, init);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function main(): Promise<void> {
  const started = Date.now();
  let edges: Array<{ edgeId: string; region: string }> = [];
  while (Date.now() - started < 600_000) {
    try {
      edges = (await json<{ edges: typeof edges }>('/v1/edges')).edges;
      if (edges.length >= 2) break;
    } catch {
      // matchmaker not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (edges.length < 2) throw new Error(`only ${edges.length} edges registered`);
  out(`edges live: ${edges.map((e) => `${e.region} ${e.edgeId}`).join(', ')}`);
  const { games } = await json<ListGamesResponse>('/v1/games');
  const game = games.find((g) => g.id === 'latency-probe-30') ?? games[0];
  if (!game) throw new Error('no games');
  const key = SessionKey.create();
  const session = await json<CreateSessionResponse>('/v1/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // The network is paid: the demo player the deploy step funded pays (no grant is signed here, so the
    // checkers do not bill this session).
    body: JSON.stringify({
      gameId: game.id,
      measurements: [],
      sessionKey: key.address,
      payer: localAccounts().player.address,
    }),
  });
  out(`session ${session.sessionId} on ${session.edge.region} (${session.edge.url})`);
  const player = new StreamReceiver({ signalUrl: session.edge.signalUrl, token: session.token });
  try {
    await player.waitFor(() => player.framesReceived > 0, 30_000, 'first frame');
    const before = player.framesReceived;
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const fps = (player.framesReceived - before) / ((performance.now() - t0) / 1000);
    out(
      JSON.stringify({
        edges: edges.length,
        sessionEdge: session.edge.region,
        game: game.id,
        targetFps: game.fps,
        fps: Math.round(fps * 10) / 10,
        seconds,
        waitedForEdgesMs: Date.now() - started,
      }),
    );
  } finally {
    await player.close();
    // The session key ends the session at the matchmaker (frees the slot at once).
    const proof = await key.signAct('end', session);
    await json(`/v1/sessions/${session.sessionId}/end`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ proof }),
    }).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`compose smoke failed: ${String(error)}\n`);
    process.exit(1);
  },
);
