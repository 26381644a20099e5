import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { GameInfo } from '../../protocol/playerApi.js';
import {
  newEdgeAccount,
  playerKey,
  pongGame,
  signedRegistration,
  TEST_BUILT_IN_GAMES,
} from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

// Issue 8: edges never add to the catalogue, built-in ids are reserved, a game id belongs to one studio,
// and titles and descriptions are plain text.

const { storeKinds, build } = useMatchmakerStores('catalogue');

const manifest = {
  id: 'space-race',
  title: 'Space Race',
  description: 'A studio game\nwith two lines',
  width: 1280,
  height: 720,
  fps: 60,
  pricePerMinute: '2000',
  input: ['keyboard'],
  runtime: 'builtin:pong',
};

describe.each(storeKinds)('catalogue (%s store)', (_kind, makeStore) => {
  async function start(): Promise<MatchmakerApp> {
    const store = makeStore();
    const app = await build({
      store,
      config: {
        logLevel: 'silent',
        builtInGameIds: TEST_BUILT_IN_GAMES,
        studioApiKeys: 'acme=acme-key,umbrella=umbrella-key',
      },
    });
    await app.ready();
    return app;
  }

  async function registerWith(app: MatchmakerApp, games: GameInfo[]): Promise<void> {
    const payload = await signedRegistration(newEdgeAccount(), { games });
    const r = await app.inject({ method: 'POST', url: '/v1/edges/register', payload });
    expect(r.statusCode, r.body).toBe(200);
  }

  async function catalogue(app: MatchmakerApp): Promise<GameInfo[]> {
    await app.matchmaker.refresh();
    return (await app.inject({ url: '/v1/games' })).json().games as GameInfo[];
  }

  function publish(app: MatchmakerApp, studio: 'acme' | 'umbrella', body: object) {
    return app.inject({
      method: 'POST',
      url: '/v1/studio/games',
      headers: { authorization: `Bearer ${studio}-key` },
      payload: body,
    });
  }

  it('lists what edges advertise only for built-in ids: an edge cannot add a game', async () => {
    const app = await start();
    const evil = { ...pongGame, id: 'free-money', title: 'Free money', pricePerMinute: '0' };
    await registerWith(app, [pongGame, evil]);
    const ids = (await catalogue(app)).map((g) => g.id);
    expect(ids).toEqual(['pong']);
    const s = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { gameId: 'free-money', measurements: [], sessionKey: playerKey() },
    });
    expect(s.statusCode).toBe(404);
    expect(s.json().code).toBe('MM_UNKNOWN_GAME');
  });

  it('describes a built-in game as most edges do: one edge cannot retitle it for everyone', async () => {
    const app = await start();
    await registerWith(app, [pongGame]);
    await registerWith(app, [pongGame]);
    await registerWith(app, [{ ...pongGame, title: 'Pong — now free', pricePerMinute: '0' }]);
    const pong = (await catalogue(app)).find((g) => g.id === 'pong');
    expect(pong?.title).toBe(pongGame.title);
    expect(pong?.pricePerMinute).toBe(pongGame.pricePerMinute);
  });

  it('refuses a studio publishing a built-in id with MM_RESERVED_GAME_ID; the built-in game is unchanged', async () => {
    const app = await start();
    await registerWith(app, [pongGame]);
    const r = await publish(app, 'acme', { ...manifest, id: 'pong', title: 'Pong (ours now)' });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('MM_RESERVED_GAME_ID');
    const pong = (await catalogue(app)).find((g) => g.id === 'pong');
    expect(pong?.title).toBe(pongGame.title);
  });

  it('gives a game id to the first studio: another studio is refused with MM_FORBIDDEN', async () => {
    const app = await start();
    await registerWith(app, [pongGame]);
    expect((await publish(app, 'acme', manifest)).statusCode).toBe(200);
    const theirs = await publish(app, 'umbrella', { ...manifest, title: 'Hijacked', pricePerMinute: '1' });
    expect(theirs.statusCode).toBe(403);
    expect(theirs.json().code).toBe('MM_FORBIDDEN');
    // The owner may still update its own game.
    expect((await publish(app, 'acme', { ...manifest, title: 'Space Race II' })).statusCode).toBe(200);
    const game = (await catalogue(app)).find((g) => g.id === 'space-race');
    expect(game).toMatchObject({ title: 'Space Race II', pricePerMinute: '2000' });
  });

  it('refuses titles and descriptions that are not plain text with MM_BAD_GAME', async () => {
    const app = await start();
    const bad: Partial<GameInfo>[] = [
      { title: '' },
      { title: '   ' },
      { title: 'Space\u0000Race' },
      { title: 'Space\nRace' },
      { title: 'Race \u202eecaR' },
      { description: 'bell\u0007' },
      { description: 'isolate \u2066x\u2069' },
      { thumbnailUrl: 'javascript:alert(1)' },
    ];
    for (const change of bad) {
      const r = await publish(app, 'acme', { ...manifest, ...change });
      expect(r.json().code, JSON.stringify(change)).toBe('MM_BAD_GAME');
      expect(r.statusCode).toBe(400);
    }
    // Markup is text, not refused: the page renders it with textContent.
    const markup = await publish(app, 'acme', { ...manifest, title: '<img src=x onerror=alert(1)>' });
    expect(markup.statusCode).toBe(200);
    const shown = (await catalogue(app)).find((g) => g.id === 'space-race');
    expect(shown?.title).toBe('<img src=x onerror=alert(1)>');
  });
});
