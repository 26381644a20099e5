import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { MatchmakerConfig } from '../../matchmaker/config.js';
import { createMemoryStore } from '../../matchmaker/store/createMemoryStore.js';
import type { MatchmakerStore } from '../../matchmaker/store/MatchmakerStore.js';
import { newEdgeAccount, signedHeartbeat, signedRegistration } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

// The matchmaker's operations side: the page and docs it serves, metrics and rate limits, reaping and refresh.

const { storeKinds, build, own } = useMatchmakerStores('ops');

describe.each(storeKinds)('matchmaker operations (%s store)', (_kind, makeStore) => {
  async function start(config: Partial<MatchmakerConfig> = {}): Promise<MatchmakerApp> {
    const store = makeStore();
    const app = await build({
      store,
      config: { logLevel: 'silent', studioApiKeys: 'acme=acme-key,umbrella=umbrella-key', ...config },
      random: () => 0.5,
    });
    await app.ready();
    return app;
  }

  it('serves the player page from staticDir beside the API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'farplay-mm-static-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Farplay</title>');
    try {
      const app = await start({ staticDir: dir });
      const page = await app.inject({ url: '/' });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<title>Farplay</title>');
      expect((await app.inject({ url: '/v1/games' })).statusCode).toBe(200);
      const missing = await app.inject({ url: '/v1/nothing-here' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().code).toBe('NOT_FOUND');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves OpenAPI at /docs, Prometheus metrics, and rate-limits floods with a code', async () => {
    const app = await start({ rateLimitMax: 5, rateLimitWindowMs: 60_000 });
    const spec = (await app.inject({ url: '/docs/json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/v1/games',
        '/v1/candidates',
        '/v1/sessions',
        '/v1/edges/register',
        '/v1/studio/games',
      ]),
    );
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('farplay_mm_allocations_total');
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await app.inject({ url: '/v1/games' })).statusCode);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    const limited = await app.inject({ url: '/v1/games' });
    expect(limited.json().code).toBe('RATE_LIMITED');
  });
});

describe('matchmaker reap', () => {
  it('stops offering a dead edge as soon as it is reaped, before the next registry refresh', async () => {
    const app = await build({
      store: createMemoryStore(),
      config: { logLevel: 'silent', edgeTtlMs: 1000, refreshMs: 3_600_000, reapMs: 3_600_000 },
    });
    await app.ready();
    const dying = newEdgeAccount();
    const living = newEdgeAccount();
    for (const account of [dying, living]) {
      const body = await signedRegistration(account);
      await app.inject({ method: 'POST', url: '/v1/edges/register', payload: body });
    }
    await app.matchmaker.refresh();
    const candidates = async () =>
      (await app.inject({ method: 'POST', url: '/v1/candidates', payload: { gameId: 'pong' } }))
        .json()
        .candidates.map((c: { edgeId: string }) => c.edgeId)
        .sort();
    expect(await candidates()).toHaveLength(2);
    // `living` heartbeats on every poll; `dying` never does and expires after its 1 s TTL.
    let reaped = 0;
    await expect
      .poll(
        async () => {
          const beat = await signedHeartbeat(living);
          await app.inject({ method: 'POST', url: '/v1/edges/heartbeat', payload: beat });
          reaped += await app.matchmaker.reap();
          return reaped;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(1);
    expect(await candidates()).toEqual([living.address.toLowerCase()]);
  });
});

describe('matchmaker refresh', () => {
  it('keeps the demand it counted when writing it to the store fails, and writes it next time', async () => {
    const inner = createMemoryStore();
    let failNext = false;
    const store: MatchmakerStore = {
      ...inner,
      async addDemand(counts) {
        if (failNext) {
          failNext = false;
          throw new Error('store down');
        }
        return inner.addDemand(counts);
      },
    };
    own(inner);
    const app = await build({
      store,
      config: { logLevel: 'silent', refreshMs: 3_600_000, reapMs: 3_600_000 },
    });
    await app.ready();
    const body = await signedRegistration(newEdgeAccount(), { region: 'eu-west' });
    expect((await app.inject({ method: 'POST', url: '/v1/edges/register', payload: body })).statusCode).toBe(
      200,
    );
    await app.matchmaker.refresh();
    const res = await app.inject({ method: 'POST', url: '/v1/candidates', payload: { gameId: 'pong' } });
    expect(res.json().candidates).toHaveLength(1);
    failNext = true;
    await expect(app.matchmaker.refresh()).rejects.toThrow('store down');
    await app.matchmaker.refresh();
    expect(await inner.demand(['eu-west'], 60_000)).toEqual({ 'eu-west': 1 });
  });
});
