import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import { randomNonce, signEdgeMessage } from '../../protocol/edgeRegistration.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { type SessionAct, signSessionAct } from '../../protocol/sessionProof.js';
import { importSessionPublicKey, verifySessionToken } from '../../protocol/sessionToken.js';
import { TEST_DEPLOYMENT, TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { newEdgeAccount, signedRegistration, signedReport } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

// Issue 8: a session re-created from an edge's heartbeat by a matchmaker that did not allocate it (another
// instance after Redis restarted empty, or the in-process matchmaker after a restart) used to come back with
// no owner key: the owner could no longer end it and anyone knowing the id could watch or replace it.

const { storeKinds, sameState, build } = useMatchmakerStores('abuse-restore');

describe.each(storeKinds)('a restored session keeps its owner (%s store)', (kind) => {
  it('the owner still ends it; a stranger still cannot replace or end it', async () => {
    const store = sameState(kind);
    const config = { logLevel: 'silent' as const, heartbeatMs: 100 };
    const first = await build({ store: store(), config });
    const edge = newEdgeAccount();
    const post = (app: MatchmakerApp, url: string, payload: object) =>
      app.inject({ method: 'POST', url, payload });
    expect((await post(first, '/v1/edges/register', await signedRegistration(edge))).statusCode).toBe(200);
    await first.matchmaker.refresh();
    const owner = newEdgeAccount();
    const stranger = newEdgeAccount();
    const created = await post(first, '/v1/sessions', {
      gameId: 'pong',
      measurements: [],
      sessionKey: owner.address,
    });
    expect(created.statusCode, created.body).toBe(200);
    const session = created.json() as CreateSessionResponse;
    // The token names the owner for the edge (which names it back in its heartbeats).
    const claims = verifySessionToken({
      token: session.token,
      publicKey: importSessionPublicKey(TEST_SESSION_KEYS.publicKey),
      edgeId: edge.address,
    });
    expect(claims.own).toBe(owner.address.toLowerCase());
    expect(
      (await post(first, '/v1/edges/sessions', await signedReport(edge, session.sessionId, 'started')))
        .statusCode,
    ).toBe(200);

    // Redis restarts empty and another instance takes the edge's traffic (in-process: the matchmaker restarts).
    await first.close();
    await store.flush();
    const second = await build({ store: store(), config });
    expect((await post(second, '/v1/edges/register', await signedRegistration(edge))).statusCode).toBe(200);
    const payload = {
      edge: edge.address,
      activeSessions: 1,
      freeSlots: 3,
      encodeHeadroom: 1,
      activeSessionIds: [session.sessionId],
      activeSessionOwners: [claims.own ?? ''],
      issuedAt: Date.now(),
      nonce: randomNonce(),
      deployment: TEST_DEPLOYMENT,
    };
    const signature = await signEdgeMessage(edge, 'EdgeHeartbeat', payload);
    expect((await post(second, '/v1/edges/heartbeat', { payload, signature })).statusCode).toBe(200);
    expect((await second.inject({ url: `/v1/sessions/${session.sessionId}` })).json().state).toBe('active');

    const prove = (key: typeof owner, act: SessionAct) =>
      signSessionAct(key, { act, sessionId: session.sessionId, deployment: TEST_DEPLOYMENT });
    await second.matchmaker.refresh();
    // A stranger: no `replaces` without the owner's proof, no end with its own key.
    const replaced = await post(second, '/v1/sessions', {
      gameId: 'pong',
      measurements: [],
      sessionKey: stranger.address,
      replaces: session.sessionId,
    });
    expect(replaced.json().code).toBe('MM_NOT_SESSION_OWNER');
    const strangerEnd = await post(second, `/v1/sessions/${session.sessionId}/end`, {
      proof: await prove(stranger, 'end'),
    });
    expect(strangerEnd.json().code).toBe('MM_NOT_SESSION_OWNER');
    // The owner ends it.
    const ended = await post(second, `/v1/sessions/${session.sessionId}/end`, {
      proof: await prove(owner, 'end'),
    });
    expect(ended.statusCode, ended.body).toBe(200);
    expect((await second.inject({ url: `/v1/sessions/${session.sessionId}` })).statusCode).toBe(404);
  });
});
