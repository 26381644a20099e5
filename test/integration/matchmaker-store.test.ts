import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createMemoryStore } from '../../matchmaker/store/createMemoryStore.js';
import { createRedisStore, deleteRedisPrefix } from '../../matchmaker/store/createRedisStore.js';
import type {
  EdgeChanges,
  EdgeRecord,
  EdgeState,
  MatchmakerStore,
  StoreEvent,
} from '../../matchmaker/store/MatchmakerStore.js';
import { type LocalRedisCluster, startRedisCluster } from '../support/redisCluster.js';
import { pongGame, sleep, testPrefix } from './matchmaker-support.js';

// One contract suite, run against every store: in-process, Redis (the real server) and Redis Cluster (three
// real redis-server masters in cluster mode on loopback, started here and ended after the file).
const redisUrl = inject('redisUrl');
const prefixes: string[] = [];
const clusterPrefixes: string[] = [];
let cluster: LocalRedisCluster | undefined;

const implementations: [string, () => MatchmakerStore][] = [
  ['memory', () => createMemoryStore()],
  [
    'redis',
    () => {
      const keyPrefix = testPrefix('store');
      prefixes.push(keyPrefix);
      return createRedisStore({ url: redisUrl, keyPrefix });
    },
  ],
  [
    'redis-cluster',
    () => {
      const keyPrefix = testPrefix('store');
      clusterPrefixes.push(keyPrefix);
      return createRedisStore({ cluster: cluster?.nodes ?? [], keyPrefix });
    },
  ],
];

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  for (const p of prefixes) await deleteRedisPrefix(redisUrl, p);
  for (const p of clusterPrefixes) await deleteRedisPrefix('', p, cluster?.nodes);
  await cluster?.stop();
});

function edge(id: string, overrides: Partial<EdgeRecord> = {}): EdgeRecord {
  return {
    id,
    region: 'eu-west',
    lat: 48.85,
    lon: 2.35,
    gpu: 'none',
    encoders: ['libx264'],
    capacity: 2,
    pricePerMinute: '1000',
    version: 'test',
    publicUrl: `http://${id}.test`,
    games: [pongGame],
    registeredAt: Date.now(),
    ...overrides,
  };
}

const session = (sessionId: string) => ({ sessionId, gameId: 'pong', player: { measurements: [] } });
const load = { activeSessions: 0, freeSlots: 2, encodeHeadroom: 1, at: Date.now() };

describe.each(implementations)('matchmaker store contract: %s', (_name, make) => {
  let store: MatchmakerStore;
  beforeEach(() => {
    store = make();
  });
  afterEach(async () => {
    await store.close();
  });

  it('registers edges, refuses a replayed nonce, and lists only live edges', async () => {
    expect(await store.putEdge(edge('0xa'), 'n1', 5000, 60_000)).toBe('ok');
    expect(await store.putEdge(edge('0xa'), 'n1', 5000, 60_000)).toBe('replay');
    expect(await store.putEdge(edge('0xb', { capacity: 3 }), 'n2', 300, 60_000)).toBe('ok');
    let live = await store.listEdges();
    expect(live.map((e) => e.edge.id).sort()).toEqual(['0xa', '0xb']);
    expect(live.find((e) => e.edge.id === '0xb')?.edge.capacity).toBe(3);
    await sleep(400);
    live = await store.listEdges();
    expect(live.map((e) => e.edge.id)).toEqual(['0xa']);
  });

  it('heartbeats extend liveness, record load, refuse replays and unknown edges', async () => {
    expect(await store.heartbeat('0xnone', load, 'h0', 1000, 60_000)).toBe('unknown');
    await store.putEdge(edge('0xa'), 'n1', 400, 60_000);
    await sleep(250);
    expect(await store.heartbeat('0xa', { ...load, activeSessions: 1 }, 'h1', 400, 60_000)).toBe('ok');
    expect(await store.heartbeat('0xa', load, 'h1', 400, 60_000)).toBe('replay');
    await sleep(250);
    const [state] = await store.listEdges();
    expect(state?.edge.id).toBe('0xa');
    expect(state?.load?.activeSessions).toBe(1);
  });

  it('a heartbeat reconciles its edge: restores what runs, activates its reservations, frees what stopped', async () => {
    const running = (...ids: string[]) =>
      ids.map((id) => ({ sessionId: id, json: JSON.stringify(session(id)) }));
    const beat = (id: string, nonce: string, ids: string[], activatedBefore: number) =>
      store.heartbeatAndReconcile(id, load, nonce, 5000, 60_000, {
        running: running(...ids),
        activatedBefore,
      });
    expect(await beat('0xnone', 'h0', ['x'], 0)).toEqual({ result: 'unknown', restored: [], released: [] });
    expect(await store.getSession('x')).toBeNull();
    await store.putEdge(edge('0xa', { capacity: 4 }), 'n1', 5000, 60_000);
    await store.putEdge(edge('0xb'), 'n2', 5000, 60_000);
    await store.reserve({ candidates: ['0xa'], session: session('mine'), reservationTtlMs: 5000 });
    await store.reserve({ candidates: ['0xb'], session: session('theirs'), reservationTtlMs: 5000 });
    const first = await beat('0xa', 'h1', ['mine', 'lost', 'theirs'], 0);
    expect(first.result).toBe('ok');
    expect([...first.restored].sort()).toEqual(['lost', 'mine']);
    expect(first.released).toEqual([]);
    expect(await store.getSession('lost')).toMatchObject({ edgeId: '0xa', state: 'active', gameId: 'pong' });
    expect(await store.getSession('mine')).toMatchObject({ edgeId: '0xa', state: 'active' });
    expect(await store.getSession('theirs')).toMatchObject({ edgeId: '0xb', state: 'reserved' });
    // A replayed heartbeat changes nothing; a heartbeat without the list only records load.
    expect(await beat('0xa', 'h1', [], Date.now() + 60_000)).toMatchObject({
      result: 'replay',
      released: [],
    });
    expect(await store.heartbeatAndReconcile('0xa', load, 'h2', 5000, 60_000)).toEqual({
      result: 'ok',
      restored: [],
      released: [],
    });
    // Activated after `activatedBefore`: kept; before it: freed and returned.
    expect((await beat('0xa', 'h3', ['mine'], 0)).released).toEqual([]);
    const freed = await beat('0xa', 'h4', ['mine'], Date.now() + 60_000);
    expect(freed.released).toMatchObject([
      { sessionId: 'lost', edgeId: '0xa', state: 'active', gameId: 'pong' },
    ]);
    expect(await store.getSession('lost')).toBeNull();
    const used = Object.fromEntries((await store.listEdges()).map((e) => [e.edge.id, e.usedSlots]));
    expect(used).toEqual({ '0xa': 1, '0xb': 1 });
  });

  it('reserves on the first candidate with room and never beyond capacity', async () => {
    await store.putEdge(edge('0xa', { capacity: 1 }), 'n1', 5000, 60_000);
    await store.putEdge(edge('0xb', { capacity: 2 }), 'n2', 5000, 60_000);
    const r1 = await store.reserve({
      candidates: ['0xgone', '0xa', '0xb'],
      session: session('s1'),
      reservationTtlMs: 5000,
    });
    expect(r1).toMatchObject({ edgeId: '0xa', state: 'reserved', sessionId: 's1' });
    const r2 = await store.reserve({
      candidates: ['0xa', '0xb'],
      session: session('s2'),
      reservationTtlMs: 5000,
    });
    expect(r2).toMatchObject({ edgeId: '0xb' });
    // A session id is never booked twice.
    expect(
      await store.reserve({ candidates: ['0xb'], session: session('s2'), reservationTtlMs: 5000 }),
    ).toBeNull();
    await store.reserve({ candidates: ['0xb'], session: session('s3'), reservationTtlMs: 5000 });
    expect(
      await store.reserve({ candidates: ['0xa', '0xb'], session: session('s4'), reservationTtlMs: 5000 }),
    ).toBeNull();
    const used = Object.fromEntries((await store.listEdges()).map((e) => [e.edge.id, e.usedSlots]));
    expect(used).toEqual({ '0xa': 1, '0xb': 2 });
    expect((await store.getSession('s2'))?.edgeId).toBe('0xb');
  });

  it('expires an unused reservation but keeps an activated session', async () => {
    await store.putEdge(edge('0xa', { capacity: 2 }), 'n1', 10_000, 60_000);
    await store.reserve({ candidates: ['0xa'], session: session('keep'), reservationTtlMs: 300 });
    await store.reserve({ candidates: ['0xa'], session: session('lapse'), reservationTtlMs: 300 });
    expect(await store.activate('keep', '0xb')).toBe('wrong-edge');
    expect(await store.activate('keep', '0xa')).toBe('ok');
    await sleep(450);
    expect(await store.getSession('lapse')).toBeNull();
    expect(await store.activate('lapse', '0xa')).toBe('unknown');
    expect((await store.getSession('keep'))?.state).toBe('active');
    expect((await store.listEdges())[0]?.usedSlots).toBe(1);
    expect(
      await store.reserve({ candidates: ['0xa'], session: session('next'), reservationTtlMs: 5000 }),
    ).not.toBeNull();
  });

  it('holds unconnected reservations per holder in the reservation itself: up to the cap, counting only sessions still reserved', async () => {
    await store.putEdge(edge('0xa', { capacity: 8 }), 'h1', 5000, 60_000);
    const reserve = (sid: string, holds: { holder: string; max: number }[]) =>
      store.reserve({ candidates: ['0xa'], session: session(sid), reservationTtlMs: 5000, holds });
    const key = { holder: 'key:0xk', max: 2 };
    const ip = { holder: 'ip:192.0.2.1', max: 3 };
    expect(await reserve('h-1', [key, ip])).toMatchObject({ sessionId: 'h-1', edgeId: '0xa' });
    expect(await reserve('h-2', [key, ip])).toMatchObject({ sessionId: 'h-2' });
    // The key is full: refused, and nothing is recorded for it (no slot, no session, the address still has room).
    expect(await reserve('h-3', [key, ip])).toEqual({ overLimit: 'key:0xk' });
    expect(await store.getSession('h-3')).toBeNull();
    expect((await store.listEdges())[0]?.usedSlots).toBe(2);
    expect(await reserve('h-3', [ip])).toMatchObject({ sessionId: 'h-3' });
    expect(await reserve('h-4', [ip])).toEqual({ overLimit: 'ip:192.0.2.1' });
    // A started session and an ended one stop counting.
    expect(await store.activate('h-1', '0xa')).toBe('ok');
    await store.release('h-2');
    expect(await reserve('h-5', [key, ip])).toMatchObject({ sessionId: 'h-5' });
  });

  it('releases a session only from its own edge', async () => {
    await store.putEdge(edge('0xa', { capacity: 1 }), 'n1', 10_000, 60_000);
    await store.reserve({ candidates: ['0xa'], session: session('s1'), reservationTtlMs: 5000 });
    expect(await store.release('s1', '0xb')).toBe('wrong-edge');
    const released = await store.release('s1', '0xa');
    expect(released).toMatchObject({ sessionId: 's1', edgeId: '0xa' });
    expect(await store.release('s1')).toBe('unknown');
    expect((await store.listEdges())[0]?.usedSlots).toBe(0);
  });

  it('reaps a dead edge exactly once, returning and releasing its sessions', async () => {
    await store.putEdge(edge('0xa', { capacity: 3 }), 'n1', 300, 60_000);
    await store.putEdge(edge('0xb'), 'n2', 10_000, 60_000);
    await store.reserve({ candidates: ['0xa'], session: session('s1'), reservationTtlMs: 5000 });
    await store.reserve({ candidates: ['0xa'], session: session('s2'), reservationTtlMs: 5000 });
    await store.activate('s1', '0xa');
    const c = { v: [1, 2, 3], h: 4, e: 0.5 };
    await store.putCoordinates({ '0xa': c, '0xb': c });
    expect(await store.reapDeadEdges()).toEqual([]);
    await sleep(400);
    const [first, second] = await Promise.all([store.reapDeadEdges(), store.reapDeadEdges()]);
    const dead = [...(first ?? []), ...(second ?? [])];
    expect(dead).toHaveLength(1);
    expect(dead[0]?.edgeId).toBe('0xa');
    expect(dead[0]?.sessions.map((s) => s.sessionId).sort()).toEqual(['s1', 's2']);
    expect(dead[0]?.sessions.find((s) => s.sessionId === 's1')?.state).toBe('active');
    expect(await store.getSession('s1')).toBeNull();
    expect(await store.heartbeat('0xa', load, 'h', 1000, 60_000)).toBe('unknown');
    expect((await store.listEdges()).map((e) => e.edge.id)).toEqual(['0xb']);
    expect(Object.keys(await store.getCoordinates())).toEqual(['0xb']);
  });

  it('reports what changed among the edges since a cursor, and a view kept from it equals the live edges', async () => {
    const view = new Map<string, EdgeState>();
    let cursor = '';
    /** Reads changes since the cursor into the view; returns the read (incremental stores read only the changed). */
    const sync = async (recheck: string[] = []) => {
      const changes = await store.edgeChanges(cursor, recheck);
      cursor = changes.cursor;
      if (changes.full) view.clear();
      for (const id of changes.gone) view.delete(id);
      for (const e of changes.edges) view.set(e.edge.id, e);
      for (const { id, ...slots } of changes.slots) {
        const e = view.get(id);
        if (e) view.set(id, { edge: e.edge, load: e.load, ...slots });
      }
      const live = Object.fromEntries((await store.listEdges()).map((e) => [e.edge.id, e.usedSlots]));
      expect(Object.fromEntries([...view].map(([id, e]) => [id, e.usedSlots]))).toEqual(live);
      return changes;
    };
    // Redis answers from its change feed (only the changed edges; those whose slots alone changed as slot counts);
    // the in-process store reads everything.
    const expectChanged = (c: EdgeChanges, ids: string[], slotIds: string[] = []) => {
      expect(c.full).toBe(store.kind === 'memory');
      if (!c.full) expect(c.edges.map((e) => e.edge.id).sort()).toEqual(ids);
      if (!c.full) expect(c.slots.map((e) => e.id).sort()).toEqual(slotIds);
    };
    expect((await sync()).full).toBe(true);
    await store.putEdge(edge('0xa'), 'n1', 400, 60_000);
    await store.putEdge(edge('0xb', { capacity: 3 }), 'n2', 10_000, 60_000);
    expectChanged(await sync(), ['0xa', '0xb']);
    // Nothing changed: an incremental store reads nothing.
    expectChanged(await sync(), []);
    await store.reserve({ candidates: ['0xb'], session: session('r1'), reservationTtlMs: 300 });
    const reserved = await sync();
    expectChanged(reserved, [], ['0xb']);
    if (!reserved.full) expect(reserved.slots[0]?.slotsExpireInMs).toBeLessThanOrEqual(300);
    expect(view.get('0xb')?.usedSlots).toBe(1);
    // A heartbeat that leaves the edge as the registry sees it is not a change; one saying it is full is.
    await store.heartbeat('0xb', { ...load, freeSlots: 2 }, 'h1', 10_000, 60_000);
    expectChanged(await sync(), []);
    await store.heartbeat('0xb', { ...load, freeSlots: 0 }, 'h2', 10_000, 60_000);
    const full = await sync();
    expectChanged(full, ['0xb']);
    expect(view.get('0xb')?.load?.freeSlots).toBe(0);
    // 0xa lapses and is reaped; the reservation on 0xb expires with no write (read again: `recheck`).
    await sleep(450);
    expect((await store.reapDeadEdges()).map((d) => d.edgeId)).toEqual(['0xa']);
    const later = await sync(['0xb']);
    if (!later.full) expect(later.gone).toEqual(['0xa']);
    expect(view.get('0xb')?.usedSlots).toBe(0);
    expect(view.get('0xb')?.slotsExpireInMs).toBeUndefined();
    await store.putCoordinates({ '0xb': { v: [1, 2, 3], h: 4, e: 0.5 } });
    const moved = await sync();
    expectChanged(moved, []);
    expect(moved.coordinates['0xb']).toEqual({ v: [1, 2, 3], h: 4, e: 0.5 });
    // A released session frees its slot in the view.
    await store.reserve({ candidates: ['0xb'], session: session('r2'), reservationTtlMs: 5000 });
    await sync();
    await store.release('r2');
    expectChanged(await sync(), [], ['0xb']);
    // A cursor the store cannot answer (another data set, or Redis restarted empty) gets everything.
    cursor = 'elsewhere:3';
    expect(await sync()).toMatchObject({ full: true, gone: [] });
    expect([...view.keys()]).toEqual(['0xb']);
  });

  it('finds live edges near a point, nearest first', async () => {
    await store.putEdge(edge('0xparis', { lat: 48.85, lon: 2.35 }), 'n1', 10_000, 60_000);
    await store.putEdge(edge('0xlondon', { lat: 51.5, lon: -0.12 }), 'n2', 10_000, 60_000);
    await store.putEdge(edge('0xtokyo', { lat: 35.68, lon: 139.69 }), 'n3', 10_000, 60_000);
    expect(await store.edgesNear(50.85, 4.35, 1000, 10)).toEqual(['0xparis', '0xlondon']);
    expect(await store.edgesNear(50.85, 4.35, 20_000, 1)).toEqual(['0xparis']);
  });

  it('keeps a game with the studio that published it', async () => {
    const g = { game: pongGame, runtime: 'builtin:pong', studio: 'acme', publishedAt: 1 };
    expect(await store.putGame(g)).toBe(1);
    expect(await store.putGame({ ...g, studio: 'evil' })).toBe('forbidden');
    expect(await store.putGame({ ...g, game: { ...pongGame, title: 'Pong 2' } })).toBe(2);
    const games = await store.listGames();
    expect(games).toHaveLength(1);
    expect(games[0]?.game.title).toBe('Pong 2');
    expect(games[0]?.version).toBe(2);
  });

  it('numbers versions, serves a pinned one, unpublishes a version or the game', async () => {
    const g = { game: pongGame, runtime: 'builtin:pong', studio: 'acme', publishedAt: 1 };
    const title = async () => (await store.listGames())[0]?.game.title;
    for (const t of ['v1', 'v2', 'v3']) await store.putGame({ ...g, game: { ...pongGame, title: t } });
    expect(await store.pinGame('pong', 'evil', 1)).toBe('forbidden');
    expect(await store.pinGame('pong', 'acme', 9)).toBe('unknown');
    expect(await store.pinGame('pong', 'acme', 2)).toBe('ok');
    expect(await title()).toBe('v2');
    // A new version does not replace the pinned one; unpinning serves the latest.
    expect(await store.putGame({ ...g, game: { ...pongGame, title: 'v4' } })).toBe(4);
    expect(await title()).toBe('v2');
    const all = await store.gameVersions('pong');
    expect(all?.versions.map((v) => v.version)).toEqual([1, 2, 3, 4]);
    expect(all).toMatchObject({ studio: 'acme', pinned: 2, live: 2 });
    expect(await store.pinGame('pong', 'acme', null)).toBe('ok');
    expect(await title()).toBe('v4');
    // Removing the served version serves the latest left; removing the pinned one unpins.
    expect(await store.unpublishGame('pong', 'acme', 4)).toBe('ok');
    expect(await title()).toBe('v3');
    await store.pinGame('pong', 'acme', 1);
    expect(await store.unpublishGame('pong', 'acme', 1)).toBe('ok');
    expect(await store.gameVersions('pong')).toMatchObject({ pinned: null, live: 3 });
    expect(await store.unpublishGame('pong', 'acme', 1)).toBe('unknown');
    expect(await store.unpublishGame('pong', 'evil')).toBe('forbidden');
    expect(await store.unpublishGame('pong', 'acme')).toBe('ok');
    expect(await store.listGames()).toEqual([]);
    expect(await store.gameVersions('pong')).toMatchObject({ versions: [], live: null });
    // The id stays the studio's; its next version goes on counting.
    expect(await store.putGame({ ...g, studio: 'evil' })).toBe('forbidden');
    expect(await store.putGame(g)).toBe(5);
    expect(await store.gameVersions('nothing')).toBeNull();
  });

  it('counts demand per region, shares coordinates, and fans out events', async () => {
    await store.addDemand({ 'eu-west': 3, 'us-east': 1 });
    await store.addDemand({ 'eu-west': 2 });
    expect(await store.demand(['eu-west', 'us-east', 'ap'], 60_000)).toEqual({
      'eu-west': 5,
      'us-east': 1,
      ap: 0,
    });
    await store.putCoordinates({ '0xa': { v: [1, 2, 3], h: 4, e: 0.5 } });
    expect(await store.getCoordinates()).toEqual({ '0xa': { v: [1, 2, 3], h: 4, e: 0.5 } });
    const got: StoreEvent[] = [];
    const off = store.subscribe((e) => got.push(e));
    // Redis subscribes asynchronously: publish until the first event arrives instead of guessing a delay.
    await expect
      .poll(
        async () => {
          if (got.length === 0)
            await store.publish({ sessionId: 's1', event: { type: 'ended', reason: 'test' } });
          return got.length;
        },
        { timeout: 5000, interval: 50 },
      )
      .toBeGreaterThan(0);
    off();
    expect(got[0]).toEqual({ sessionId: 's1', event: { type: 'ended', reason: 'test' } });
  });
});
