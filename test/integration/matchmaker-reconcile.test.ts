import { type ChildProcess, spawn } from 'node:child_process';
import type { LocalAccount } from 'viem';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { MatchmakerConfig } from '../../matchmaker/config.js';
import { createMemoryStore } from '../../matchmaker/store/createMemoryStore.js';
import { createRedisStore, deleteRedisPrefix } from '../../matchmaker/store/createRedisStore.js';
import type { MatchmakerStore } from '../../matchmaker/store/MatchmakerStore.js';
import { randomNonce, signEdgeMessage } from '../../protocol/edgeRegistration.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { freePort } from '../support/freePort.js';
import { TEST_DEPLOYMENT, TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import {
  newEdgeAccount,
  playerKey,
  signedRegistration,
  signedReport,
  TEST_BUILT_IN_GAMES,
  testPrefix,
} from './matchmaker-support.js';

// Issue 8, "Redis restarts and lost reports lose nothing": edges name their running sessions in every
// heartbeat and the matchmaker reconciles; while Redis is away requests fail fast with a code.
const redisUrl = inject('redisUrl');
const prefixes: string[] = [];
const apps: MatchmakerApp[] = [];
const stores: MatchmakerStore[] = [];
const servers: ChildProcess[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const store of stores.splice(0)) await store.close();
  for (const s of servers.splice(0)) s.kill('SIGKILL');
});
afterAll(async () => {
  for (const p of prefixes) await deleteRedisPrefix(redisUrl, p);
});

const CONFIG: Partial<MatchmakerConfig> = {
  logLevel: 'silent',
  builtInGameIds: TEST_BUILT_IN_GAMES,
  sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
  rateLimitMax: 100_000,
  // Sessions activated more than two heartbeat periods ago are freed when the edge stops naming them.
  heartbeatMs: 100,
  edgeTtlMs: 120_000,
  refreshMs: 3_600_000,
  reapMs: 3_600_000,
};

async function start(store: MatchmakerStore, config: Partial<MatchmakerConfig> = {}) {
  const app = await buildApp({ store, config: { ...CONFIG, ...config } });
  apps.push(app);
  await app.ready();
  return app;
}

/** A test edge speaking the signed edge protocol to `app`. */
function edgeOf(app: MatchmakerApp, account: LocalAccount = newEdgeAccount()) {
  const post = async (url: string, payload: unknown) => {
    const r = await app.inject({ method: 'POST', url, payload: payload as object });
    return { status: r.statusCode, code: (r.json() as { code?: string }).code };
  };
  return {
    id: account.address.toLowerCase(),
    async register() {
      const r = await post('/v1/edges/register', await signedRegistration(account, { capacity: 4 }));
      await app.matchmaker.refresh();
      return r;
    },
    /** One heartbeat naming `running`; re-registers first if the matchmaker forgot the edge, as edges do. */
    async heartbeat(running: string[]) {
      const send = async () => {
        const payload = {
          edge: account.address,
          activeSessions: running.length,
          freeSlots: 4 - running.length,
          encodeHeadroom: 1,
          activeSessionIds: running,
          issuedAt: Date.now(),
          nonce: randomNonce(),
          deployment: TEST_DEPLOYMENT,
        };
        const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
        return post('/v1/edges/heartbeat', { payload, signature });
      };
      let r = await send();
      if (r.code === 'MM_UNKNOWN_EDGE') {
        expect((await this.register()).status).toBe(200);
        r = await send();
      }
      return r;
    },
    report: async (sessionId: string, event: 'started' | 'ended') =>
      post('/v1/edges/sessions', await signedReport(account, sessionId, event)),
  };
}

async function allocate(app: MatchmakerApp) {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    payload: { gameId: 'pong', measurements: [], sessionKey: playerKey() },
  });
  return { status: r.statusCode, body: r.json() as CreateSessionResponse & { code?: string } };
}

async function sessionState(app: MatchmakerApp, sessionId: string) {
  const r = await app.inject({ url: `/v1/sessions/${sessionId}` });
  return { status: r.statusCode, body: r.json() as { state?: string; gameId?: string; code?: string } };
}

async function usedSlots(app: MatchmakerApp, edgeId: string): Promise<number | undefined> {
  await app.matchmaker.refresh();
  const edges = (await app.inject({ url: '/v1/edges' })).json().edges as {
    edgeId: string;
    usedSlots: number;
  }[];
  return edges.find((e) => e.edgeId === edgeId)?.usedSlots;
}

const storeKinds: [string, () => MatchmakerStore][] = [
  ['memory', () => createMemoryStore()],
  [
    'redis',
    () => {
      const keyPrefix = testPrefix('reconcile');
      prefixes.push(keyPrefix);
      return createRedisStore({ url: redisUrl, keyPrefix });
    },
  ],
];

describe.each(storeKinds)('heartbeats reconcile lost reports (%s store)', (_kind, makeStore) => {
  it('a lost `started` report: the session the edge runs becomes active; a lost `ended`: its slot is freed', async () => {
    const store = makeStore();
    stores.push(store);
    const app = await start(store);
    const edge = edgeOf(app);
    expect((await edge.register()).status).toBe(200);
    const a = await allocate(app);
    const b = await allocate(app);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    // `started` for a never arrives; the edge names it in its heartbeat.
    expect((await edge.report(b.body.sessionId, 'started')).status).toBe(200);
    expect((await edge.heartbeat([a.body.sessionId, b.body.sessionId])).status).toBe(200);
    expect((await sessionState(app, a.body.sessionId)).body.state).toBe('active');
    // `ended` for b never arrives: once the edge stops naming it, its slot is freed and its watchers told.
    await vi.waitFor(
      async () => {
        await edge.heartbeat([a.body.sessionId]);
        expect((await sessionState(app, b.body.sessionId)).status).toBe(404);
      },
      { timeout: 10_000, interval: 150 },
    );
    expect((await sessionState(app, a.body.sessionId)).body.state).toBe('active');
    expect(await usedSlots(app, edge.id)).toBe(1);
  });
});

describe('Redis restarts empty under live sessions', () => {
  it('the next heartbeat re-creates them: found again, slots counted, no over-allocation', async () => {
    const keyPrefix = testPrefix('flush');
    prefixes.push(keyPrefix);
    const store = createRedisStore({ url: redisUrl, keyPrefix });
    stores.push(store);
    const app = await start(store);
    const edge = edgeOf(app);
    expect((await edge.register()).status).toBe(200);
    const live = [await allocate(app), await allocate(app)].map((s) => s.body.sessionId);
    for (const id of live) expect((await edge.report(id, 'started')).status).toBe(200);

    await deleteRedisPrefix(redisUrl, keyPrefix); // everything under this matchmaker's prefix is gone
    expect((await sessionState(app, live[0] as string)).status).toBe(404);

    expect((await edge.heartbeat(live)).status).toBe(200);
    for (const id of live) {
      const s = await sessionState(app, id);
      expect(s.status).toBe(200);
      expect(s.body).toMatchObject({ state: 'active', gameId: 'pong' });
    }
    expect(await usedSlots(app, edge.id)).toBe(2);
    // Capacity 4: two more sessions fit, a fifth does not.
    expect((await allocate(app)).status).toBe(200);
    expect((await allocate(app)).status).toBe(200);
    const over = await allocate(app);
    expect(over.status).toBe(503);
    expect(over.body.code).toBe('MM_NO_CAPACITY');
  });
});

/** Starts a throwaway redis-server (no persistence) on `port`; resolves once it accepts connections. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-300)}`)));
  });
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('while Redis is down', () => {
  it('answers MM_STORE_UNAVAILABLE at once, allocates nothing, and recovers the live session after', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const store = createRedisStore({ url, keyPrefix: 'farplay:test:down:' });
    stores.push(store);
    const app = await start(store);
    const edge = edgeOf(app);
    expect((await edge.register()).status).toBe(200);
    const live = (await allocate(app)).body.sessionId;
    expect((await edge.report(live, 'started')).status).toBe(200);

    await stopRedis(redis);
    const refused = await allocate(app);
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('MM_STORE_UNAVAILABLE');
    expect((await sessionState(app, live)).body.code).toBe('MM_STORE_UNAVAILABLE');
    expect((await edge.heartbeat([live])).code).toBe('MM_STORE_UNAVAILABLE');

    // It comes back empty (no persistence): the edge's next heartbeats restore what it runs.
    redis = await startRedis(port);
    await vi.waitFor(async () => expect((await edge.heartbeat([live])).status).toBe(200), {
      timeout: 15_000,
      interval: 200,
    });
    expect((await sessionState(app, live)).body).toMatchObject({ state: 'active', gameId: 'pong' });
    expect(await usedSlots(app, edge.id)).toBe(1);

    // A server that hangs (stopped, not gone) times out into the same code.
    redis.kill('SIGSTOP');
    try {
      const hung = await allocate(app);
      expect(hung.body.code).toBe('MM_STORE_UNAVAILABLE');
    } finally {
      redis.kill('SIGCONT');
    }
  });
});
