import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { ErrorCodes } from '../../protocol/errors.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { FuzzValues } from '../tools/FuzzValues.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { startTestEdge } from './edge-support.js';
import {
  newEdgeAccount,
  playerKey,
  pongGame,
  signedHeartbeat,
  signedRegistration,
  signedReport,
  TEST_BUILT_IN_GAMES,
} from './matchmaker-support.js';

// Issue 8: a property-based fuzzer. Random and mutated bodies go to every HTTP route of the matchmaker
// (listed from its own OpenAPI schema) and of an edge, random frames to both WebSockets; every answer must
// be a success or a catalogue code other than INTERNAL, and both services stay up. Seeded (FUZZ_SEED replays a
// run) and bounded: 300 HTTP requests per service, 60 socket runs.
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const CODES = new Set(Object.keys(ErrorCodes));
const CONTENT_TYPES = [
  'application/json',
  'application/octet-stream',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/sdp',
  'multipart/form-data; boundary=x',
];

let app: MatchmakerApp;
let mmUrl: string;
let edge: EdgeServer;
let edgeUrl: string;
let session: CreateSessionResponse;
/** A valid body per route (`METHOD path`), to mutate. */
const samples = new Map<string, unknown>();

type Body = { type: string; body: string | Buffer };

/** A random body: JSON, a mutation of the route's valid body, or raw bytes/text of any content type. */
function randomBody(f: FuzzValues, sample: unknown): Body {
  switch (f.int(3)) {
    case 0:
      return { type: 'application/json', body: JSON.stringify(f.json()) ?? 'null' };
    case 1:
      return { type: 'application/json', body: JSON.stringify(f.mutate(sample ?? {})) ?? 'null' };
    default:
      return { type: f.pick(CONTENT_TYPES), body: f.next() < 0.5 ? f.string(300) : f.bytes() };
  }
}

function randomSegment(f: FuzzValues): string {
  return f.pick([
    () => 'x',
    () => {
      try {
        return encodeURIComponent(f.string(20)) || '%00';
      } catch {
        return '%ED%A0%80'; // a lone surrogate, as bytes that are not UTF-8
      }
    },
    () => 'a'.repeat(f.int(300)),
    () => '..%2F..%2Fetc%2Fpasswd',
  ])();
}

/** Sends one request; the answer must be a success or a catalogue code other than INTERNAL. */
async function check(
  base: string,
  method: string,
  path: string,
  body: Body,
  headers: Record<string, string>,
) {
  const withBody = method !== 'GET' && method !== 'HEAD';
  const what = `seed ${SEED}: ${method} ${path} (${body.type})`;
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(withBody ? { 'content-type': body.type } : {}) },
    ...(withBody ? { body: body.body } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  if (r.status < 400) return;
  let code: unknown;
  try {
    code = (JSON.parse(text) as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  expect(CODES.has(String(code)), `${what} → ${r.status} ${text.slice(0, 200)}`).toBe(true);
  expect(code, `${what} → ${text.slice(0, 200)}`).not.toBe('INTERNAL');
}

beforeAll(async () => {
  app = await buildApp({
    config: {
      logLevel: 'silent',
      builtInGameIds: TEST_BUILT_IN_GAMES,
      sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
      studioApiKeys: 'acme=acme-key',
      rateLimitMax: 1_000_000,
      upgradeRateLimitMax: 1_000_000,
      packageLimit: 64 * 1024,
    },
  });
  mmUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const account = newEdgeAccount();
  const registration = await signedRegistration(account, { games: [pongGame] });
  expect(
    (await app.inject({ method: 'POST', url: '/v1/edges/register', payload: registration })).statusCode,
  ).toBe(200);
  await app.matchmaker.refresh();
  const created = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    payload: { gameId: 'pong', measurements: [], sessionKey: playerKey() },
  });
  expect(created.statusCode, created.body).toBe(200);
  session = created.json() as CreateSessionResponse;
  samples.set('POST /v1/edges/register', registration);
  samples.set('POST /v1/edges/heartbeat', await signedHeartbeat(account));
  samples.set('POST /v1/edges/sessions', await signedReport(account, session.sessionId, 'started'));
  samples.set('POST /v1/sessions', {
    gameId: 'pong',
    measurements: [{ edgeId: account.address, rttMs: 12 }],
    sessionKey: playerKey(),
    lat: 48.8,
    lon: 2.3,
  });
  samples.set('POST /v1/candidates', { gameId: 'pong', lat: 48.8, lon: 2.3, limit: 3 });
  samples.set('POST /v1/studio/games', { ...pongGame, id: 'fuzz-game', runtime: 'builtin:pong' });
  edge = await startTestEdge({ capacity: 2, maxUpgradesPerMinute: 1_000_000 });
  edgeUrl = edge.edge.url as string;
}, 120_000);

afterAll(async () => {
  await edge?.close();
  await app?.close();
});

describe(`property-based fuzzing of every route and socket (seed ${SEED})`, () => {
  it('matchmaker: every HTTP route of its OpenAPI schema answers a success or a catalogue code', async () => {
    const spec = (await (await fetch(`${mmUrl}/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })),
    );
    expect(routes.length).toBeGreaterThan(12);
    const f = new FuzzValues(SEED);
    for (let run = 0; run < 300; run++) {
      const route = f.pick(routes);
      const path = route.path.replace(/\{[^}]+\}/g, () =>
        f.next() < 0.5 ? session.sessionId : randomSegment(f),
      );
      const key = f.pick([undefined, 'acme-key', 'wrong', 'acme-key=']);
      const body = randomBody(f, samples.get(`${route.method} ${route.path}`));
      await check(mmUrl, route.method, path, body, key ? { authorization: `Bearer ${key}` } : {});
    }
    expect((await fetch(`${mmUrl}/v1/games`)).status).toBe(200);
  });

  it('edge: every HTTP route answers a success or a catalogue code', async () => {
    const token = edge.edge.createSession('latency-probe').token;
    const routes = [
      ['GET', '/health'],
      ['GET', '/v1/edge'],
      ['GET', '/v1/stats?session=:p'],
      ['GET', '/v1/probe'],
      ['GET', '/v1/games/:p/thumbnail'],
      ['POST', '/v1/whep?token=:t'],
      ['DELETE', '/v1/whep/:p'],
      ['POST', '/v1/sessions'],
      ['GET', '/v1/signal'],
      ['PUT', '/v1/nothing-here'],
    ] as const;
    const f = new FuzzValues(SEED + 1);
    for (let run = 0; run < 300; run++) {
      const [method, template] = f.pick(routes);
      const path = template
        .replace(':p', randomSegment(f))
        .replace(':t', f.next() < 0.5 ? token : randomSegment(f));
      await check(edgeUrl, method, path, randomBody(f, { gameId: 'latency-probe' }), {});
    }
    expect((await fetch(`${edgeUrl}/health`)).status).toBe(200);
  });

  it('WebSockets: random frames to the events socket and the signalling socket leave both services up', async () => {
    const f = new FuzzValues(SEED + 2);
    const frame = (): string | Buffer =>
      f.pick([
        () => JSON.stringify(f.json()),
        () => f.string(2000),
        () => f.bytes(2000),
        () =>
          JSON.stringify({
            type: f.pick(['offer', 'answer', 'candidate', 'ping', 'resize', 'bitrate', 'input']),
            ...(f.mutate({ sdp: 'v=0', width: 640, height: 360, kbps: 1000, candidate: 'x' }) as object),
          }),
      ])();
    const socketRun = async (url: string, frames: (string | Buffer)[]) => {
      const ws = new WebSocket(url);
      const closed = new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.once('error', () => resolve());
        ws.on('unexpected-response', (_req, res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => {
            let code: unknown = 'NOT_FOUND';
            try {
              code = text ? (JSON.parse(text) as { code?: string }).code : 'NOT_FOUND';
            } catch {
              code = undefined;
            }
            expect(CODES.has(String(code)), `seed ${SEED}: ${url} → ${res.statusCode} ${text}`).toBe(true);
            resolve();
          });
        });
      });
      ws.on('message', (data) => {
        const parsed = JSON.parse(data.toString()) as { type?: string; code?: string };
        if (parsed.type === 'error') expect(CODES.has(String(parsed.code)), data.toString()).toBe(true);
      });
      await new Promise<void>((resolve) => {
        ws.once('open', () => resolve());
        void closed.then(resolve);
      });
      for (const x of frames) if (ws.readyState === ws.OPEN) ws.send(x);
      setTimeout(() => ws.close(), 50).unref();
      await closed;
    };
    for (let run = 0; run < 60; run++) {
      const frames = Array.from({ length: f.int(8) }, frame);
      const real = f.next() < 0.5;
      const id = real ? session.sessionId : randomSegment(f);
      await socketRun(
        `${mmUrl.replace('http', 'ws')}/v1/sessions/${id}/events?proof=${randomSegment(f)}`,
        frames,
      );
      const token = real ? edge.edge.createSession('latency-probe').token : randomSegment(f);
      await socketRun(`${edgeUrl.replace('http', 'ws')}/v1/signal?token=${token}`, frames);
    }
    expect((await fetch(`${mmUrl}/v1/games`)).status).toBe(200);
    expect((await fetch(`${edgeUrl}/health`)).status).toBe(200);
  });
});
