import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import {
  encodeSessionProof,
  type SessionAct,
  type SessionProof,
  signSessionAct,
} from '../../protocol/sessionProof.js';
import { newEdgeAccount, signedRegistration } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

const { storeKinds, build } = useMatchmakerStores('owner');

describe.each(storeKinds)('session ownership (%s store)', (_kind, makeStore) => {
  async function start(requireSessionKey = false): Promise<{ app: MatchmakerApp; url: string }> {
    const store = makeStore();
    const app = await build({ store, config: { logLevel: 'silent', requireSessionKey } });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const body = await signedRegistration(newEdgeAccount(), { capacity: 4 });
    expect((await app.inject({ method: 'POST', url: '/v1/edges/register', payload: body })).statusCode).toBe(
      200,
    );
    await app.matchmaker.refresh();
    return { app, url };
  }

  async function allocate(app: MatchmakerApp, key: ReturnType<typeof newEdgeAccount>, extra = {}) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { gameId: 'pong', measurements: [], sessionKey: key.address, ...extra },
    });
    return res;
  }

  const prove = (
    key: ReturnType<typeof newEdgeAccount>,
    act: SessionAct,
    session: CreateSessionResponse,
  ): Promise<SessionProof> =>
    signSessionAct(key, { act, sessionId: session.sessionId, deployment: session.deployment ?? '' });

  /** Opens the events socket; resolves 'open' or the HTTP status and body of the refusal. */
  function watch(url: string, sessionId: string, proof?: SessionProof) {
    const q = proof ? `?proof=${encodeSessionProof(proof)}` : '';
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/sessions/${sessionId}/events${q}`);
    return new Promise<{ open: true; ws: WebSocket } | { open: false; status: number; code: string }>(
      (resolve, reject) => {
        ws.once('open', () => resolve({ open: true, ws }));
        ws.once('unexpected-response', (_req, res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () =>
            resolve({ open: false, status: res.statusCode ?? 0, code: JSON.parse(text || '{}').code }),
          );
        });
        ws.once('error', reject);
      },
    );
  }

  it('lets only the session key replace, watch or end a session, each proof once', async () => {
    const { app, url } = await start();
    const owner = newEdgeAccount();
    const stranger = newEdgeAccount();
    const first = (await allocate(app, owner)).json() as CreateSessionResponse;
    expect(first.deployment).toMatch(/^mm-[0-9a-f]{32}$/);

    // A stranger who knows the id cannot release it through `replaces`.
    const bare = await allocate(app, stranger, { replaces: first.sessionId });
    expect(bare.statusCode).toBe(403);
    expect(bare.json().code).toBe('MM_NOT_SESSION_OWNER');
    const forged = await allocate(app, stranger, {
      replaces: first.sessionId,
      replacesProof: await prove(stranger, 'replace', first),
    });
    expect(forged.json().code).toBe('MM_NOT_SESSION_OWNER');
    // A proof for another act does not pass for this one.
    const wrongAct = await allocate(app, stranger, {
      replaces: first.sessionId,
      replacesProof: await prove(owner, 'end', first),
    });
    expect(wrongAct.json().code).toBe('MM_NOT_SESSION_OWNER');
    expect((await app.inject({ url: `/v1/sessions/${first.sessionId}` })).statusCode).toBe(200);

    // Nor watch its events (the moved event carries the next token), nor end it.
    expect(await watch(url, first.sessionId)).toMatchObject({
      open: false,
      status: 403,
      code: 'MM_NOT_SESSION_OWNER',
    });
    expect(await watch(url, first.sessionId, await prove(stranger, 'watch', first))).toMatchObject({
      open: false,
      code: 'MM_NOT_SESSION_OWNER',
    });
    const strangerEnd = await app.inject({
      method: 'POST',
      url: `/v1/sessions/${first.sessionId}/end`,
      payload: { proof: await prove(stranger, 'end', first) },
    });
    expect(strangerEnd.statusCode).toBe(403);

    // The owner can watch, once per proof.
    const watchProof = await prove(owner, 'watch', first);
    const watching = await watch(url, first.sessionId, watchProof);
    expect(watching.open).toBe(true);
    expect(await watch(url, first.sessionId, watchProof)).toMatchObject({
      open: false,
      code: 'MM_SESSION_REPLAY',
    });

    // The owner replaces it: the old session is gone and its watcher told... nothing is left behind.
    const second = await allocate(app, owner, {
      replaces: first.sessionId,
      replacesProof: await prove(owner, 'replace', first),
    });
    expect(second.statusCode, second.body).toBe(200);
    expect((await app.inject({ url: `/v1/sessions/${first.sessionId}` })).statusCode).toBe(404);
    if (watching.open) watching.ws.close();

    // And ends the new one with a signed 'end'; the slot is free again.
    const next = second.json() as CreateSessionResponse;
    const endProof = await prove(owner, 'end', next);
    const ended = await app.inject({
      method: 'POST',
      url: `/v1/sessions/${next.sessionId}/end`,
      payload: { proof: endProof },
    });
    expect(ended.statusCode, ended.body).toBe(200);
    expect((await app.inject({ url: `/v1/sessions/${next.sessionId}` })).statusCode).toBe(404);
    const edges = (await app.inject({ url: '/v1/edges' })).json().edges as { usedSlots: number }[];
    expect(edges[0]?.usedSlots).toBe(0);
  });

  it('with requireSessionKey refuses keyless requests; refuses stale and foreign-deployment proofs', async () => {
    const { app } = await start(true);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { gameId: 'pong', measurements: [] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('MM_NOT_SESSION_OWNER');
    const owner = newEdgeAccount();
    const owned = (await allocate(app, owner)).json() as CreateSessionResponse;
    const stale = await signSessionAct(owner, {
      act: 'end',
      sessionId: owned.sessionId,
      deployment: owned.deployment ?? '',
      issuedAt: Date.now() - 10 * 60_000,
    });
    const r = await app.inject({
      method: 'POST',
      url: `/v1/sessions/${owned.sessionId}/end`,
      payload: { proof: stale },
    });
    expect(r.json().code).toBe('MM_STALE_MESSAGE');
    // A proof for another deployment (another matchmaker) is refused.
    const elsewhere = await signSessionAct(owner, {
      act: 'end',
      sessionId: owned.sessionId,
      deployment: 'mm-other',
    });
    const r2 = await app.inject({
      method: 'POST',
      url: `/v1/sessions/${owned.sessionId}/end`,
      payload: { proof: elsewhere },
    });
    expect(r2.json().code).toBe('MM_NOT_SESSION_OWNER');
  });
});
