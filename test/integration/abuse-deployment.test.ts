import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import { deploymentOf } from '../../protocol/deployment.js';
import { generateSessionKeyPair } from '../../protocol/sessionToken.js';
import { TEST_DEPLOYMENT } from '../tools/testDeployment.js';
import { newEdgeAccount, signedHeartbeat, signedRegistration } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

// Issue 8, "smaller holes": edge messages were signed under a domain with only a name and version, so a
// message signed for one matchmaker was good for any other, and replay protection lived in memory.

const { storeKinds, build, sameState } = useMatchmakerStores('abuse-deploy');

const post = async (app: MatchmakerApp, url: string, payload: object) => {
  const r = await app.inject({ method: 'POST', url, payload });
  return { status: r.statusCode, code: (r.json() as { code?: string }).code };
};

describe.each(storeKinds)('edge messages belong to one deployment (%s store)', (kind, makeStore) => {
  it('a registration signed for one matchmaker is refused by another (MM_WRONG_DEPLOYMENT)', async () => {
    const ours = await build({ store: makeStore(), config: { logLevel: 'silent' } });
    const other = generateSessionKeyPair();
    const theirs = await build({
      store: makeStore(),
      config: { logLevel: 'silent', sessionPrivateKey: other.privateKey },
    });
    const edge = newEdgeAccount();
    const forOurs = await signedRegistration(edge);
    expect(await post(theirs, '/v1/edges/register', forOurs)).toEqual({
      status: 403,
      code: 'MM_WRONG_DEPLOYMENT',
    });
    // Renaming the deployment in the payload breaks the signature: the domain's salt is derived from it.
    const renamed = {
      ...forOurs,
      payload: { ...forOurs.payload, deployment: deploymentOf(other.publicKey) },
    };
    expect(await post(theirs, '/v1/edges/register', renamed)).toEqual({
      status: 401,
      code: 'MM_BAD_SIGNATURE',
    });
    expect((await theirs.inject({ url: '/v1/edges' })).json().edges).toEqual([]);
    // The same message is good where it was meant to go, and /v1/matchmaker names the deployment.
    expect((await post(ours, '/v1/edges/register', forOurs)).status).toBe(200);
    expect((await ours.inject({ url: '/v1/matchmaker' })).json().deployment).toBe(TEST_DEPLOYMENT);
    // A heartbeat for another deployment is refused the same way.
    const beat = await signedHeartbeat(edge, {}, Date.now(), deploymentOf(other.publicKey));
    expect(await post(ours, '/v1/edges/heartbeat', beat)).toEqual({
      status: 403,
      code: 'MM_WRONG_DEPLOYMENT',
    });
  });

  it('a message sent before a restart is refused after it', async () => {
    const store = sameState(kind);
    const first = await build({ store: store(), config: { logLevel: 'silent' } });
    const edge = newEdgeAccount();
    const registration = await signedRegistration(edge);
    expect((await post(first, '/v1/edges/register', registration)).status).toBe(200);
    const beat = await signedHeartbeat(edge);
    expect((await post(first, '/v1/edges/heartbeat', beat)).status).toBe(200);
    await first.close();
    // The matchmaker restarts (same deployment key); an eavesdropper replays what it saw, inside the
    // freshness window. Redis remembers the nonces (MM_REPLAY); the in-process store forgot them, so it
    // refuses anything issued before it started (MM_STALE_MESSAGE).
    const restarted = await build({ store: store(), config: { logLevel: 'silent' } });
    const refused = kind === 'redis' ? 'MM_REPLAY' : 'MM_STALE_MESSAGE';
    expect(await post(restarted, '/v1/edges/register', registration)).toMatchObject({ code: refused });
    expect(await post(restarted, '/v1/edges/heartbeat', beat)).toMatchObject({ code: refused });
    // The edge's own next messages, signed now, are taken.
    expect((await post(restarted, '/v1/edges/register', await signedRegistration(edge))).status).toBe(200);
    expect((await post(restarted, '/v1/edges/heartbeat', await signedHeartbeat(edge))).status).toBe(200);
  });
});
